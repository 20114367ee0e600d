"""Who did something: recorded on attempts and events, never with a secret."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ActorKind(enum.StrEnum):
    SYSTEM = "system"
    STAFF = "staff"
    APP = "app"
    CUSTOMER = "customer"
    # A shop's own driver, by a driver key (drivers.py).
    DRIVER = "driver"


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    identifier: str = ""
    # A human-readable name for the timeline ("DHL courier app", a staff e-mail).
    name: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.identifier}" if self.identifier else str(self.kind)


SYSTEM = Actor(ActorKind.SYSTEM)
