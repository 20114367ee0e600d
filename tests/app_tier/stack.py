"""The App tier's machinery: real processes on 127.0.0.1, and how to talk to them.

* a real Saleor: ``uvicorn saleor.asgi:application`` and a Celery worker of
  Saleor's own (webhooks are delivered by it, as in production), on a fresh
  database cloned from a template that ``migrate`` built (:func:`saleor_database`);
* the App: ``saleor-delivery-otp app serve`` and ``app worker``, on its own
  database, with its own Redis database as cache and broker;
* a real SMTP server (aiosmtpd) that keeps what it receives (:class:`Mailbox`).

Nothing here imports Saleor or the App: they run in their own processes, from
their own interpreters, and are reached over HTTP, SMTP and SQL only.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import requests
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parents[2]


class StackError(AssertionError):
    """A step of the stack failed; the message says which, with the logs."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for[T](
    what: str,
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.25,
    diagnose: Callable[[], str] = lambda: "",
) -> T:
    """``probe()``'s first truthy answer, or StackError after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            found = probe()
        except StackError:
            raise
        except Exception as exc:  # not ready yet; kept for the message
            last_error = exc
            found = None
        if found:
            return found
        time.sleep(interval)
    detail = f" (last error: {type(last_error).__name__}: {last_error})" * bool(
        last_error
    )
    raise StackError(
        f"Timed out after {timeout:.0f} s waiting for {what}{detail}.\n{diagnose()}"
    )


# --- processes ----------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise StackError(
                f"{self.name} exited with status {self.popen.returncode}; the end of "
                f"its log ({self.log}):\n{self.tail()}"
            )

    def stop(self) -> None:
        """SIGTERM to the process group it leads (a Celery worker's children
        too), SIGKILL if it lingers."""
        if not self.alive():
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)
        except ProcessLookupError:
            pass


@dataclass
class Processes:
    logs: Path
    started: list[Process] = field(default_factory=list)

    def start(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str],
        *,
        cwd: Path | None = None,
    ) -> Process:
        log = self.logs / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(
            argv,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        handle.close()
        process = Process(name, popen, log)
        self.started.append(process)
        return process

    def run(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str],
        *,
        stdin: str = "",
        timeout: float,
    ) -> str:
        """Run to completion; its stdout, or StackError with its output."""
        done = subprocess.run(
            argv,
            env=dict(env),
            input=stdin.encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        (self.logs / f"{name}.log").write_bytes(done.stdout + b"\n" + done.stderr)
        if done.returncode != 0:
            raise StackError(
                f"{name} failed with status {done.returncode}:\n"
                + done.stderr.decode(errors="replace")[-4000:]
            )
        return done.stdout.decode()

    def tails(self, lines: int = 30) -> str:
        return "\n".join(
            f"--- {process.name} ({process.log}) ---\n{process.tail(lines)}"
            for process in self.started
        )

    def stop_all(self) -> None:
        for process in reversed(self.started):
            process.stop()


def wait_for_log(process: Process, text: str, *, timeout: float) -> None:
    def ready() -> bool:
        process.check_alive()
        return text in process.tail(400)

    wait_for(
        f"{process.name} to log {text!r}", ready, timeout=timeout, diagnose=process.tail
    )


def wait_for_http(process: Process, url: str, *, timeout: float, **kwargs: Any) -> None:
    method = kwargs.pop("method", "GET")

    def answers() -> bool:
        process.check_alive()
        response = requests.request(method, url, timeout=5, **kwargs)
        return response.status_code == 200

    wait_for(
        f"{process.name} to answer {url}",
        answers,
        timeout=timeout,
        diagnose=process.tail,
    )


# --- databases and Redis ------------------------------------------------------------


@dataclass(frozen=True)
class Postgres:
    """A PostgreSQL server, ``postgres://user[:password]@host:port``."""

    url: str

    def database_url(self, name: str) -> str:
        return f"{self.url.rstrip('/')}/{name}"

    def _admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.database_url("postgres"), autocommit=True)

    def recreate(self, name: str, *, template: str | None = None) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{clause}')

    def comment(self, name: str) -> str | None:
        with self._admin() as conn:
            row = conn.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                "WHERE datname = %s",
                (name,),
            ).fetchone()
        return None if row is None else (row[0] or "")

    def set_comment(self, name: str, comment: str) -> None:
        with self._admin() as conn:
            conn.execute(
                f'COMMENT ON DATABASE "{name}" IS '
                + "'"
                + comment.replace("'", "''")
                + "'"
            )

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def connect(self, name: str) -> psycopg.Connection[Any]:
        return psycopg.connect(self.database_url(name), autocommit=True)


def flush_redis(url: str) -> None:
    """FLUSHDB on one Redis database (the tier's own), by the protocol itself."""
    parts = urlsplit(url)
    db = (parts.path or "/0").lstrip("/") or "0"
    with socket.create_connection((parts.hostname, parts.port or 6379), 5) as conn:
        conn.sendall(f"*2\r\n$6\r\nSELECT\r\n${len(db)}\r\n{db}\r\n".encode())
        conn.sendall(b"*1\r\n$7\r\nFLUSHDB\r\n")
        answer = b""
        while answer.count(b"\r\n") < 2:
            chunk = conn.recv(1024)
            if not chunk:
                break
            answer += chunk
    if answer != b"+OK\r\n+OK\r\n":
        raise StackError(
            f"Redis at {parts.hostname}:{parts.port} refused FLUSHDB: {answer!r}"
        )


def migrations_fingerprint(*roots: Path) -> str:
    """A digest of every migration under ``roots``: the template database is
    rebuilt whenever one changes."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("migrations/*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- SMTP ---------------------------------------------------------------------------


class Mailbox:
    """A real SMTP server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # time.monotonic() when each message's DATA was accepted, in step with
        # ``messages`` (the benchmarks time the code e-mail from it).
        self.received_at: list[float] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self.received_at.append(time.monotonic())
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m.get("To", ""))]

    def received(self) -> list[tuple[float, EmailMessage]]:
        """Every message so far with the monotonic time it arrived."""
        with self._lock:
            return list(zip(self.received_at, self.messages, strict=True))


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return "" if part is None else str(part.get_content())  # type: ignore[attr-defined]


# --- GraphQL over HTTP --------------------------------------------------------------


@dataclass(frozen=True)
class GraphQL:
    """One GraphQL endpoint. ``__call__`` returns ``data`` and fails on any
    error; :meth:`document` returns the whole answer."""

    url: str
    name: str

    def document(
        self, query: str, variables: dict[str, Any] | None = None, token: str = ""
    ) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = requests.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=30,
        )
        try:
            answer = response.json()
        except ValueError:
            raise StackError(
                f"{self.name} answered HTTP {response.status_code} with no JSON: "
                f"{response.text[:500]}"
            ) from None
        if not isinstance(answer, dict):
            raise StackError(f"{self.name} answered {answer!r}")
        answer["_status"] = response.status_code
        return answer

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, token: str = ""
    ) -> dict[str, Any]:
        answer = self.document(query, variables, token)
        if answer.get("errors") or not isinstance(answer.get("data"), dict):
            raise StackError(
                f"{self.name} refused {_operation(query)}: "
                f"{json.dumps(answer.get('errors'))[:1500]}"
            )
        data: dict[str, Any] = answer["data"]
        return data

    def mutate(
        self,
        field_name: str,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str = "",
    ) -> dict[str, Any]:
        """A Saleor mutation's payload; StackError on its ``errors`` too."""
        payload: dict[str, Any] = self(query, variables, token)[field_name]
        if payload.get("errors"):
            raise StackError(
                f"{self.name} {field_name} failed: {json.dumps(payload['errors'])}"
            )
        return payload


def _operation(query: str) -> str:
    words = query.split("(")[0].split("{")[0].split()
    return " ".join(words) or "a query"


# --- the whole stack ----------------------------------------------------------------

SALEOR_DATABASE = "saleor_apptier"
SALEOR_TEMPLATE = "saleor_apptier_template"
APP_DATABASE = "delivery_otp_apptier_app"
SALEOR_REDIS_DB = 13
APP_REDIS_DB = 14


@dataclass(frozen=True)
class Names:
    """The databases and Redis databases one run owns (drops, clones, flushes).

    Two runs at once (the App tier and the App's benchmarks, or two checkouts)
    need different ones: ``DELIVERY_OTP_APP_TIER_DB_SUFFIX`` is appended to the
    three database names (``_bench``: ``saleor_apptier_bench`` ...), and
    ``DELIVERY_OTP_APP_TIER_REDIS_DBS`` names Saleor's and the App's Redis
    databases (``3,4``); the defaults are the App tier's own.
    """

    saleor_database: str = SALEOR_DATABASE
    saleor_template: str = SALEOR_TEMPLATE
    app_database: str = APP_DATABASE
    saleor_redis_db: int = SALEOR_REDIS_DB
    app_redis_db: int = APP_REDIS_DB

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        suffix: str = "",
        redis_dbs: str = "",
    ) -> Names:
        """From the environment; ``suffix`` and ``redis_dbs`` are the defaults
        when it names none."""
        suffix = environ.get("DELIVERY_OTP_APP_TIER_DB_SUFFIX", suffix)
        if not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in suffix):
            raise StackError(
                "DELIVERY_OTP_APP_TIER_DB_SUFFIX may hold letters, digits and '_' only."
            )
        dbs = environ.get("DELIVERY_OTP_APP_TIER_REDIS_DBS", redis_dbs)
        saleor_db, app_db = SALEOR_REDIS_DB, APP_REDIS_DB
        if dbs:
            parts = [part.strip() for part in dbs.split(",")]
            if len(parts) != 2 or not all(part.isdigit() for part in parts):
                raise StackError(
                    "DELIVERY_OTP_APP_TIER_REDIS_DBS must be two Redis database "
                    "numbers, Saleor's and the App's: e.g. 3,4."
                )
            saleor_db, app_db = int(parts[0]), int(parts[1])
            if saleor_db == app_db:
                raise StackError(
                    "DELIVERY_OTP_APP_TIER_REDIS_DBS names one database twice."
                )
        return cls(
            saleor_database=SALEOR_DATABASE + suffix,
            saleor_template=SALEOR_TEMPLATE + suffix,
            app_database=APP_DATABASE + suffix,
            saleor_redis_db=saleor_db,
            app_redis_db=app_db,
        )


# Saleor's migrate takes about two minutes on an idle machine.
MIGRATE_TIMEOUT = 900
START_TIMEOUT = 120


@dataclass
class Stack:
    logs: Path
    postgres_url: str
    redis_url: str
    app_python: str
    saleor_python: str
    fresh: bool = False
    names: Names = field(default_factory=Names)
    # Further variables for the App's processes (the benchmarks' settings).
    app_env: Mapping[str, str] = field(default_factory=dict)

    processes: Processes = field(init=False)
    postgres: Postgres = field(init=False)
    mailbox: Mailbox = field(init=False)
    saleor_port: int = field(init=False)
    app_port: int = field(init=False)
    shop: dict[str, Any] = field(init=False, repr=False)
    passwords: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.processes = Processes(self.logs)
        self.postgres = Postgres(self.postgres_url)
        self.mailbox = Mailbox()
        self.saleor_port = free_port()
        self.app_port = free_port()
        self.passwords = {
            "customer": "customer-" + os.urandom(6).hex(),
            "staff": "staff-" + os.urandom(6).hex(),
        }

    # --- addresses ---

    @property
    def saleor_api_url(self) -> str:
        return f"http://127.0.0.1:{self.saleor_port}/graphql/"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def saleor(self) -> GraphQL:
        return GraphQL(self.saleor_api_url, "Saleor")

    def app_api(self, public_id: str) -> GraphQL:
        return GraphQL(f"{self.app_url}/api/graphql/{public_id}/", "the App")

    def app_db(self) -> psycopg.Connection[Any]:
        return self.postgres.connect(self.names.app_database)

    def diagnose(self) -> str:
        return f"Logs in {self.logs}:\n{self.processes.tails()}"

    # --- environments ---

    def _saleor_env(self) -> dict[str, str]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        redis = f"{self.redis_url.rstrip('/')}/{self.names.saleor_redis_db}"
        return {
            **_base_env(),
            "DJANGO_SETTINGS_MODULE": "saleor.settings",
            "DATABASE_URL": self.postgres.database_url(self.names.saleor_database),
            "SECRET_KEY": os.urandom(32).hex(),
            # One key for the web process and the worker: the worker signs the
            # webhooks, the web process serves the JWKS the App checks them with.
            "RSA_PRIVATE_KEY": pem,
            "DEBUG": "False",
            "PUBLIC_URL": f"http://127.0.0.1:{self.saleor_port}/",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "ALLOWED_CLIENT_HOSTS": "127.0.0.1,localhost",
            # Saleor refuses to post to loopback addresses otherwise (the App).
            "HTTP_IP_FILTER_ALLOW_LOOPBACK_IPS": "True",
            "CELERY_BROKER_URL": redis,
            "REDIS_URL": redis,
            "SEND_USAGE_TELEMETRY": "False",
        }

    def _app_env(self) -> dict[str, str]:
        from cryptography.fernet import Fernet

        return {
            **_base_env(),
            "SECRET_KEY": os.urandom(32).hex(),
            "DATABASE_URL": self.postgres.database_url(self.names.app_database),
            "REDIS_URL": f"{self.redis_url.rstrip('/')}/{self.names.app_redis_db}",
            "DELIVERY_OTP_KEYS": os.urandom(32).hex(),
            "DELIVERY_OTP_APP_URL": self.app_url,
            "DELIVERY_OTP_APP_TOKEN_KEYS": Fernet.generate_key().decode(),
            "DELIVERY_OTP_APP_ALLOWED_SALEOR_URLS": self.saleor_api_url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.mailbox.port),
            "DEFAULT_FROM_EMAIL": "Watch shop <shop@example.com>",
            "CELERY_BEAT_SCHEDULE_FILENAME": str(self.logs / "app-beat-schedule"),
            **self.app_env,
        }

    # --- start and stop ---

    def start(self) -> None:
        self.mailbox.start()
        for db in (self.names.saleor_redis_db, self.names.app_redis_db):
            flush_redis(f"{self.redis_url.rstrip('/')}/{db}")
        saleor_env = self._saleor_env()
        self._saleor_database(saleor_env)
        self.shop = json.loads(
            self.processes.run(
                "saleor-shop",
                [self.saleor_python, str(Path(__file__).with_name("saleor_shop.py"))],
                saleor_env,
                stdin=json.dumps(self.passwords),
                timeout=300,
            )
            .strip()
            .splitlines()[-1]
        )
        saleor = self.processes.start(
            "saleor",
            [
                self.saleor_python,
                "-m",
                "uvicorn",
                "saleor.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.saleor_port),
            ],
            saleor_env,
        )
        saleor_worker = self.processes.start(
            "saleor-worker",
            [
                self.saleor_python,
                "-m",
                "celery",
                "-A",
                "saleor.celeryconf:app",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
            ],
            saleor_env,
        )
        self.postgres.recreate(self.names.app_database)
        app_env = self._app_env()
        command = [self.app_python, "-m", "saleor_delivery_otp.cli", "app"]
        app = self.processes.start(
            "app", [*command, "serve", "--port", str(self.app_port)], app_env
        )
        app_worker = self.processes.start(
            "app-worker", [*command, "worker", "--concurrency", "2"], app_env
        )
        wait_for_http(
            saleor,
            self.saleor_api_url,
            method="POST",
            json={"query": "{ shop { name } }"},
            timeout=START_TIMEOUT,
        )
        wait_for_log(saleor_worker, " ready.", timeout=START_TIMEOUT)
        wait_for_http(app, f"{self.app_url}/api/manifest", timeout=START_TIMEOUT)
        wait_for_log(app_worker, " ready.", timeout=START_TIMEOUT)

    def _saleor_database(self, env: dict[str, str]) -> None:
        """``saleor_apptier`` (or its run's name), fresh: a copy of a template
        that Saleor's own ``migrate`` built from the same migrations."""
        spec = importlib.util.find_spec("saleor")  # its place, not imported
        if spec is None or not spec.submodule_search_locations:
            raise StackError("Saleor is not installed in this interpreter.")
        fingerprint = "apptier " + migrations_fingerprint(
            Path(next(iter(spec.submodule_search_locations))),
            REPO / "saleor_delivery_otp",
        )
        template = self.names.saleor_template
        if self.fresh or self.postgres.comment(template) != fingerprint:
            self.postgres.recreate(template)
            self.processes.run(
                "saleor-migrate",
                [self.saleor_python, "-m", "django", "migrate", "--noinput", "-v0"],
                {**env, "DATABASE_URL": self.postgres.database_url(template)},
                timeout=MIGRATE_TIMEOUT,
            )
            self.postgres.set_comment(template, fingerprint)
        self.postgres.recreate(self.names.saleor_database, template=template)

    def stop(self) -> None:
        self.processes.stop_all()
        self.mailbox.stop()


def stack_from_env(
    logs: Path,
    *,
    saleor_python: str,
    default_app_python: str,
    names: Names | None = None,
    app_env: Mapping[str, str] | None = None,
) -> Stack:
    """A stack configured as the App tier's conftest documents it: the servers in
    ``DELIVERY_OTP_APP_TIER_DB``/``_REDIS``, the App's interpreter in
    ``DELIVERY_OTP_APP_PYTHON``, the names in :class:`Names`."""
    return Stack(
        logs=logs,
        postgres_url=os.environ.get(
            "DELIVERY_OTP_APP_TIER_DB", "postgres://postgres@127.0.0.1:5432"
        ),
        redis_url=os.environ.get(
            "DELIVERY_OTP_APP_TIER_REDIS", "redis://127.0.0.1:6379"
        ),
        app_python=os.environ.get("DELIVERY_OTP_APP_PYTHON") or default_app_python,
        saleor_python=saleor_python,
        fresh=os.environ.get("DELIVERY_OTP_APP_TIER_FRESH") == "1",
        names=names or Names.from_env(),
        app_env=dict(app_env or {}),
    )


def _base_env() -> dict[str, str]:
    """This environment without anything of the tier's own runs or of Django,
    and with this repository first on the path (Saleor loads the plugin from it
    too, and the App its code)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "DELIVERY_OTP_", "SALEOR_", "CELERY_"))
        and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PYTHONPATH")
    }
    env["PYTHONPATH"] = str(REPO)
    env["PYTHONUNBUFFERED"] = "1"
    return env
