"""The collaborators every use case receives: the Stripe gateway, the store, the clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from services.adapters.gateway import StripeGateway


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True)
class Services:
    gateway: StripeGateway
    engine: Engine
    mode: str  # "sandbox" | "test" | "live"
    now: Callable[[], int] = field(default=_now)
