"""The Stripe API the sandbox serves, one module per resource; importing this package registers
every route with the engine (``sandbox.core.route``)."""

from sandbox.api import customers, events, institutions  # noqa: F401 (register their routes)
from sandbox.api.financial_connections import (  # noqa: F401 (register their routes)
    accounts,
    deactivation,
    owners,
    refreshes,
    sessions,
    transactions,
)
