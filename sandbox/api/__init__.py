"""The Stripe API the sandbox serves, one module per resource."""
