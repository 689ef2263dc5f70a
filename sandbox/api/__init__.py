"""The Stripe API the sandbox serves, one module per resource; importing this package registers
every route with the engine (``sandbox.core.route``)."""

from sandbox.api import (  # noqa: F401 (route modules register their routes on import)
    charges,
    checkout_sessions,
    collection_hooks,
    customers,
    events,
    hooks,
    institutions,
    mandates,
    payment_intents,
    payment_methods,
    setup_attempts,
    setup_intents,
    webhook_endpoints,
)
from sandbox.api.financial_connections import (  # noqa: F401 (register their routes)
    accounts,
    deactivation,
    owners,
    refreshes,
    sessions,
    transactions,
)
