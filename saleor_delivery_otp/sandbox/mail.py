"""An e-mail backend that writes each message to an ``.eml`` file, for the sandbox."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

from .standalone import PRIVATE_DIR, create_private


class EmlFileBackend(BaseEmailBackend):
    """Writes ``<data dir>/mail/NNN-<recipient>.eml`` and prints a one-line summary.

    The summary leaves the code out: it is in the file, as it would be in the
    customer's mailbox.
    """

    def send_messages(self, email_messages: Any) -> int:
        folder = Path(getattr(settings, "SANDBOX_MAIL_DIR"))  # noqa: B009 (set at run time)
        # Private, as a mailbox is: the messages show the codes.
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            recipient = (message.to or ["nobody"])[0]
            name = f"{len(list(folder.glob('*.eml'))) + 1:03d}-{_slug(recipient)}.eml"
            path = folder / name
            with os.fdopen(create_private(path), "wb") as handle:
                handle.write(message.message().as_bytes())
            print(f"  e-mail to {recipient}: {message.subject!r} -> {path}")
            sent += 1
        return sent


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9@._-]+", "-", text)[:60]
