"""Facts about the pinned Stripe API that the product and its sandbox share.

``API_VERSION`` is the one place the version is pinned: the gateway passes it to
``StripeClient(stripe_version=…)``, the flow previews and curl commands print it as the
``Stripe-Version`` header, and the sandbox renders its objects and events in it (and refuses
requests for another version it cannot render). It must equal the pinned SDK's own
``stripe.api_version`` (``tests/services/test_gateway.py`` checks), so upgrading the SDK is a
deliberate change here too. This module imports nothing from Stripe (the gateway is the only
module that does).
"""

from __future__ import annotations

API_VERSION = "2026-10-28.endive"
