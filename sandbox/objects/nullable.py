"""Data table: fields (dotted paths) Stripe documents as nullable but whose example value is
filled in. A fresh sandbox object has null there; ``tests/contract/test_fixture_shapes.py``
allows null only for these."""

from __future__ import annotations

NULLABLE: dict[str, frozenset[str]] = {
    "customer": frozenset(
        {"address", "discount", "currency", "shipping", "invoice_settings.rendering_options"}
    ),
    "financial_connections.account": frozenset(
        {"balance", "balance_refresh", "ownership_refresh", "transaction_refresh", "account_holder"}
    ),
    "financial_connections.account_owner": frozenset(
        {"email", "phone", "raw_address", "refreshed_at"}
    ),
    "financial_connections.account_ownership": frozenset(),
    "financial_connections.session": frozenset({"client_secret"}),
    "financial_connections.transaction": frozenset({"status_transitions.posted_at"}),
    "mandate": frozenset({"customer_acceptance.online", "customer_acceptance.accepted_at"}),
    "payment_intent": frozenset(
        {
            "automatic_payment_methods",
            "canceled_at",
            "last_payment_error",
            "next_action",
            "payment_method_configuration_details",
            "processing",
            "shipping",
            "transfer_data",
        }
    ),
    "payment_method": frozenset(
        {
            "billing_details.address.city",
            "billing_details.address.country",
            "billing_details.address.line1",
            "billing_details.address.postal_code",
            "billing_details.address.state",
            "billing_details.email",
            "billing_details.phone",
        }
    ),
    "setup_intent": frozenset(
        {
            "automatic_payment_methods",
            "client_secret",
            "last_setup_error",
            "next_action",
            "payment_method_configuration_details",
        }
    ),
    "checkout.session": frozenset(
        {
            "after_expiration",
            "cancel_url",
            "automatic_tax.liability",
            "collected_information",
            "consent",
            "consent_collection",
            "currency_conversion",
            "custom_text.after_submit",
            "custom_text.shipping_address",
            "custom_text.submit",
            "custom_text.terms_of_service_acceptance",
            "customer_details",
            "expires_at",
            "invoice_creation",
            "payment_intent",
            "payment_method_configuration_details",
            "permissions",
            "saved_payment_method_options",
            "shipping_address_collection",
            "shipping_cost",
            "success_url",
            "total_details.amount_discount",
            "total_details.amount_tax",
            "url",
            "wallet_options",
        }
    ),
    "event": frozenset(),
}
