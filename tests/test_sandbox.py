"""The sandbox and its story, run as a user runs them: as a command, over HTTP."""

import email
import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email import policy
from pathlib import Path

import pytest

PROGRAM = [sys.executable, "-m", "saleor_delivery_otp.sandbox.cli"]
VERIFY = (
    "mutation($tracking: String, $code: String!) { deliveryCodeVerify("
    "trackingNumber: $tracking, code: $code) { accepted attemptsLeft } }"
)


def environment():
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def run_cli(*args):
    return subprocess.run(
        [*PROGRAM, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment(),
        check=False,
    )


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_story_plays_the_whole_delivery():
    result = run_cli("story")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    emailed = re.search(
        r"receives 'Your delivery code for order #1001' with the code (\d{6})", out
    )
    assert emailed, out
    code = emailed.group(1)
    assert f"parcel SBX-1001-1: ACTIVE, code {code}" in out
    assert "parcel SBX-1001-2 (the cable) has no code" in out
    assert "accepted=False, attempts left 4" in out
    assert "accepted=True: the parcel is handed over" in out
    assert "accepted=False: a code works once" in out
    assert "no code e-mail: below the threshold" in out
    assert out.rstrip().endswith("Story complete: every step as expected.")


class Sandbox:
    """A running ``saleor-delivery-otp sandbox`` and what its banner said."""

    def __init__(self, data_dir: Path, port: int):
        self.port = port
        self.process = subprocess.Popen(
            [*PROGRAM, "sandbox", "--data-dir", str(data_dir), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment(),
        )
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        self.banner = "".join(lines)
        assert "Press Ctrl-C to stop." in self.banner, self.banner
        self.url = re.search(r"API \(every channel\)\s+(\S+)", self.banner).group(1)
        self.tokens = dict(
            re.findall(r"^  (customer|app|staff)\s+.*?\s(\S+)$", self.banner, re.M)
        )
        self.anna_order = re.search(r'"id": "([^"]+)"', self.banner).group(1)

    def call(self, query, variables, token=None, host=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if host:
            headers["Host"] = host
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"query": query, "variables": variables}).encode(),
            headers=headers,
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def sandbox(tmp_path):
    running = Sandbox(tmp_path / "data", free_port())
    yield running
    running.stop()


def test_sandbox_serves_the_api_with_the_printed_tokens(sandbox, tmp_path):
    codes_query = (
        "query($id: ID!) { orderDeliveryCodes(orderId: $id) "
        "{ status code trackingNumber attempts { result } } }"
    )

    as_customer = sandbox.call(
        codes_query, {"id": sandbox.anna_order}, sandbox.tokens["customer"]
    )
    (parcel,) = as_customer["data"]["orderDeliveryCodes"]
    code = parcel["code"]
    wrong = sandbox.call(
        VERIFY,
        {"tracking": "SBX-1001-1", "code": "000000" if code != "000000" else "111111"},
        sandbox.tokens["app"],
    )
    right = sandbox.call(
        VERIFY, {"tracking": "SBX-1001-1", "code": code}, sandbox.tokens["app"]
    )
    as_staff = sandbox.call(
        codes_query, {"id": sandbox.anna_order}, sandbox.tokens["staff"]
    )
    anonymous = sandbox.call(codes_query, {"id": sandbox.anna_order})

    assert parcel["trackingNumber"] == "SBX-1001-1" and re.fullmatch(r"\d{6}", code)
    assert wrong["data"]["deliveryCodeVerify"] == {"accepted": False, "attemptsLeft": 4}
    assert right["data"]["deliveryCodeVerify"] == {"accepted": True, "attemptsLeft": 0}
    (seen,) = as_staff["data"]["orderDeliveryCodes"]
    assert seen["code"] is None and seen["status"] == "VERIFIED"
    assert [a["result"] for a in seen["attempts"]] == ["WRONG_CODE", "ACCEPTED"]
    assert anonymous["data"]["orderDeliveryCodes"] is None

    mails = sorted((tmp_path / "data" / "mail").glob("*.eml"))
    first = email.message_from_bytes(mails[0].read_bytes(), policy=policy.default)
    assert first["To"] == "anna@example.com"
    assert code in first.get_body(preferencelist=("plain",)).get_content()
    assert code not in sandbox.banner


def test_sandbox_answers_only_to_its_own_host_header(sandbox):
    port = sandbox.port
    codes_query = "query($id: ID!) { orderDeliveryCodes(orderId: $id) { code } }"

    def ask(host):
        return sandbox.call(
            codes_query, {"id": sandbox.anna_order}, sandbox.tokens["customer"], host
        )

    foreign = [
        f"rebound.example:{port}",  # DNS rebinding: another site's name, our address
        f"127.0.0.1.example:{port}",
        f"127.0.0.1:{port + 1}",
        "localhost",
    ]
    for host in foreign:
        with pytest.raises(urllib.error.HTTPError) as refused:
            ask(host)
        assert refused.value.code == 400, host
        (error,) = json.load(refused.value)["errors"]
        assert error["message"] == (
            f"The sandbox answers only to 127.0.0.1:{port}, [::1]:{port}, "
            f"localhost:{port} (the request's Host header is another name)."
        )
    for own in (f"localhost:{port}", f"127.0.0.1:{port}", f"LOCALHOST:{port}"):
        assert ask(own)["data"]["orderDeliveryCodes"][0]["code"], own


def test_sandbox_keeps_its_files_private(sandbox, tmp_path):
    data = tmp_path / "data"
    # A write through the API, so the database has been written since start-up.
    wrong = sandbox.call(
        VERIFY, {"tracking": "SBX-1001-1", "code": "000000"}, sandbox.tokens["app"]
    )
    assert "accepted" in wrong["data"]["deliveryCodeVerify"]

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "shop.json",
        "delivery-otp.sqlite3",
        "delivery-otp.key",
    }
    assert [p for p in files if p.suffix == ".eml"]
    assert {p.relative_to(data).as_posix(): mode(p) for p in files} == {
        p.relative_to(data).as_posix(): 0o600 for p in files
    }
    folders = [data, *(p for p in data.rglob("*") if p.is_dir())]
    assert {str(p): mode(p) for p in folders} == {str(p): 0o700 for p in folders}


def test_restart_makes_an_older_sandboxs_files_private(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    Sandbox(data, port).stop()
    for path in (data, data / "mail", data / "shop.json", *data.glob("mail/*.eml")):
        path.chmod(0o755 if path.is_dir() else 0o644)

    Sandbox(data, port).stop()

    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "shop.json").stat().st_mode) == 0o600
    assert {stat.S_IMODE(p.stat().st_mode) for p in data.glob("mail/*.eml")} == {0o600}


def test_an_email_still_due_from_an_earlier_run_is_sent_at_the_next_start(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    Sandbox(data, port).stop()
    # As if writing the phone parcel's e-mail had failed: it is still due.
    db = sqlite3.connect(data / "delivery-otp.sqlite3")
    with db:
        db.execute(
            "UPDATE delivery_otp_code SET email_due_at = '2000-01-01 00:00:00' "
            "WHERE fulfillment_id IS NOT NULL"
        )
    db.close()

    Sandbox(data, port).stop()

    mails = sorted((data / "mail").glob("*.eml"))
    assert len(mails) == 3
    resent = email.message_from_bytes(mails[-1].read_bytes(), policy=policy.default)
    assert resent["Subject"] == "Your delivery code for parcel 1 of order #1001"


def test_sandbox_keeps_its_shop_across_restarts(tmp_path):
    port = free_port()
    first = Sandbox(tmp_path / "data", port)
    first.stop()
    second = Sandbox(tmp_path / "data", port)
    second.stop()

    assert "(new shop in" in first.banner
    assert "(shop in" in second.banner
    assert second.tokens == first.tokens
    assert len(list((tmp_path / "data" / "mail").glob("*.eml"))) == 2


def test_port_in_use_is_a_clear_error_and_writes_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = run_cli(
            "sandbox", "--data-dir", str(tmp_path / "data"), "--port", str(port)
        )

    assert result.returncode == 2
    assert f"Port {port} on 127.0.0.1 is in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()


def test_data_dir_that_cannot_be_written_is_a_clear_error(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")

    result = run_cli("sandbox", "--data-dir", str(a_file), "--port", str(free_port()))

    assert result.returncode == 2
    assert "cannot be written" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fly"], "invalid choice: 'fly'"),
        (["sandbox", "--port", "70000"], "'70000' is not a port number"),
    ],
)
def test_bad_command_lines_are_refused_with_usage(args, message):
    result = run_cli(*args)

    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: saleor-delivery-otp" in result.stderr
