"""Stripe's error envelope (reference §1.5) and the errors every part of the sandbox raises."""

from __future__ import annotations

from typing import Any

# Handler-raised errors with these codes are parameter validation: Stripe does not save them
# under an idempotency key (§1.6), so a corrected retry with the same key can still run.
VALIDATION_CODES = frozenset(
    {
        "parameter_missing",
        "parameter_unknown",
        "parameter_invalid_empty",
        "parameter_invalid_integer",
        "parameter_invalid_boolean",
        "parameter_invalid_string_empty",
        "parameter_invalid",
        "parameters_exclusive",
    }
)


def doc_url(code: str) -> str:
    """Where Stripe documents an error code (the `doc_url` of an error)."""
    return "https://docs.stripe.com/error-codes/" + code.replace("_", "-")


class StripeError(Exception):
    """An error answered with Stripe's envelope (§1.5); raise it from any handler."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        extra: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def body(self) -> dict:
        """The JSON body: ``{"error": {...}}`` with ``doc_url`` when a code is set."""
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = doc_url(self.code)
        if self.param:
            err["param"] = self.param
        err.update(self.extra)
        return {"error": err}


def not_found(object_name: str, id: str, *, param: str = "id") -> StripeError:
    """404 ``resource_missing`` worded like Stripe: ``No such setup_intent: 'seti_x'``."""
    return StripeError(404, f"No such {object_name}: '{id}'", code="resource_missing", param=param)


def invalid(
    message: str, *, param: str | None = None, code: str = "parameter_invalid"
) -> StripeError:
    """400 for a parameter that is present but wrong."""
    return StripeError(400, message, code=code, param=param)


def missing(param: str) -> StripeError:
    """400 ``parameter_missing`` for a required parameter."""
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def unknown_param(param: str) -> StripeError:
    """400 ``parameter_unknown``: Stripe rejects parameters an endpoint does not take."""
    return StripeError(
        400, f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def unexpected_state(object_name: str, message: str) -> StripeError:
    """400 ``<object>_unexpected_state`` (e.g. confirming a canceled SetupIntent)."""
    return StripeError(400, message, code=f"{object_name}_unexpected_state")


def api_error(message: str = "An unknown error occurred") -> StripeError:
    """500 ``api_error``: Stripe-side failure. Stripe sends ``Stripe-Should-Retry: false`` on
    most 500s (its idempotency layer saved the answer, so a same-key retry would replay it)."""
    return StripeError(500, message, type="api_error", headers={"Stripe-Should-Retry": "false"})
