"""The request pipeline: auth, version, routing, rate limit, faults, parameter checks,
idempotency, the handler under the state lock, expansion (README "Request pipeline").

Transport-agnostic: ``sandbox.server`` turns HTTP into a call of :func:`handle`, and route
modules (``sandbox.api``) register handlers with :func:`~sandbox.core.routes.route`. Keeping
the HTTP layer thin makes the whole pipeline the same for every route, like Stripe's.
"""

from __future__ import annotations

import base64
import json
import time
import traceback
from dataclasses import dataclass, field

from sandbox.core.errors import VALIDATION_CODES, StripeError, api_error, invalid
from sandbox.core.expand import expand
from sandbox.core.faults import lock_timeout, rate_limited
from sandbox.core.routes import Route, match_route
from sandbox.core.state import State
from sandbox.core.wire import Request, parse_params
from sandbox.shared_facts import API_VERSION  # the one pinned version (also the gateway's)
from sandbox.spec import shapes
from sandbox.spec.params import check_request


@dataclass
class Response:
    status: int
    body: dict
    headers: dict[str, str] = field(default_factory=dict)


def check_auth(headers: dict[str, str]) -> tuple[str | None, StripeError | None]:
    """The API key from Bearer or Basic auth; test keys only (§1.7)."""
    auth = headers.get("authorization", "")
    key = None
    if auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    elif auth.lower().startswith("basic "):
        try:
            key = base64.b64decode(auth[6:].strip()).decode().split(":", 1)[0]
        except ValueError:
            key = ""
    if not key:
        return None, StripeError(
            401,
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if not (key.startswith("sk_test_") or key.startswith("rk_test_")):
        prefix = key.rsplit("_", 1)[0] + "_" if "_" in key else ""
        return None, StripeError(401, f"Invalid API Key provided: {prefix}****{key[-4:]}")
    return key, None


def check_version(headers: dict[str, str]) -> StripeError | None:
    """Objects are rendered in the pinned version only; no header means the account default,
    which is the pinned version here. Another version would need shapes this sandbox lacks."""
    asked = headers.get("stripe-version")
    if not asked or asked == API_VERSION:
        return None
    return StripeError(
        400,
        f"This sandbox answers in Stripe API version {API_VERSION} only (the pinned SDK's); "
        f"it cannot render objects for version {asked}.",
    )


def handle(
    state: State,
    method: str,
    path: str,
    *,
    query: str = "",
    body: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """Answer one request: route, auth, faults, validation, idempotency, handler, expansion."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    method = method.upper()
    req = Request(
        method=method,
        path=path,
        headers=headers,
        request_id=state.new_request_id(),
        idempotency_key=headers.get("idempotency-key") or None,
    )
    state.requests.record(method, path, query, headers)
    resp = _handle(state, req, query, body)
    state.requests.answered(path, resp.status)
    resp.headers.setdefault("Request-Id", req.request_id)
    return resp


def _error(err: StripeError) -> Response:
    return Response(err.status, err.body(), dict(err.headers))


def _handle(state: State, req: Request, query: str, body: str) -> Response:
    hook = req.path.startswith("/_sandbox/")
    refused = None if hook else _authenticate(req)
    if refused is not None:
        return _error(refused)
    try:
        req.params = parse_params(query)
        if body:
            req.params.update(parse_params(body))
    except StripeError as err:
        return _error(err)
    found = match_route(req.method, req.path)
    if found is None:
        return _error(
            StripeError(
                404,
                f"Unrecognized request URL ({req.method}: {req.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                code=None,
            )
        )
    rt, req.path_args = found
    if hook:  # simulation hooks: no rate limit, faults, parameter types or idempotency
        return _execute(state, rt, req)[0]
    return _handle_api(state, rt, req)


def _authenticate(req: Request) -> StripeError | None:
    key, refused = check_auth(req.headers)
    req.api_key = key
    return refused or check_version(req.headers)


def _handle_api(state: State, rt: Route, req: Request) -> Response:
    if not state.faults.take_token():
        return _error(rate_limited())
    fault = state.faults.next()
    mode, seconds = fault or (None, None)
    if mode == "429":
        return _error(rate_limited("Sandbox fault injection: rate limited."))
    if mode == "lock_timeout":
        return _error(lock_timeout())
    refused = _refusal(rt, req)
    if refused is not None:  # rejected before execution: never saved under an idempotency key
        return _error(refused)
    claimed = state.idempotency.begin(req, state.now())
    if isinstance(claimed, StripeError):
        return _error(claimed)
    if claimed is not None:
        return Response(
            claimed.status, claimed.body, {**claimed.headers, "Idempotent-Replayed": "true"}
        )
    if mode == "500":
        # A 500 after execution started: saved under the key and replayed to a same-key retry
        # (§1.6), so only a new request (a new key) can succeed. Nothing was changed.
        resp, save = _error(api_error("Sandbox fault injection: internal error.")), True
    elif mode == "500_done":
        # The request went through (its changes stay, its events are sent), then the answer was
        # a 500, saved under the key like any 500: the client cannot tell it from "500".
        _execute(state, rt, req)
        resp, save = _error(api_error("Sandbox fault injection: internal error.")), True
    else:
        if mode is not None:  # slow answers: the request is in flight meanwhile (409 for clashes)
            config = state.config
            default = config.slow_seconds if mode == "slow" else config.timeout_seconds
            time.sleep(default if seconds is None else seconds)
        resp, save = _execute(state, rt, req)
    state.idempotency.finish(req, resp.status, resp.body, resp.headers, save=save)
    return resp


def _refusal(rt: Route, req: Request) -> StripeError | None:
    """The parameter check against the pinned SDK's types, and the idempotency key's length."""
    refusal = check_request(rt.method, rt.pattern, req.params)
    if refusal is not None:
        return StripeError(400, refusal.message, code=refusal.code, param=refusal.param)
    if req.idempotency_key and len(req.idempotency_key) > 255:
        return invalid("Idempotency-Key must be at most 255 characters.", param=None)
    return None


def _execute(state: State, rt: Route, req: Request) -> tuple[Response, bool]:
    """Run the handler under the state lock; returns the reply and whether to save it."""
    with state.lock:
        state.run_due()
        try:
            result = rt.handler(req, state)
            if isinstance(result, dict):  # handlers return what they changed: keep indexes true
                state.reindex(result)
            paths = [str(p) for p in req.list("expand") if p != "total_count"]
            if paths:
                result = expand(state.lookup, result, paths)
            body = json.loads(json.dumps(result))  # a snapshot, detached from the store
            if state.config.check_responses and not rt.is_hook:
                _check_shape(body, req)
            return Response(200, body), True
        except StripeError as err:
            return _error(err), err.code not in VALIDATION_CODES
        except Exception as exc:  # Stripe answers 500 and saves it (§1.6)
            traceback.print_exc()
            return _error(api_error(f"Sandbox internal error: {type(exc).__name__}: {exc}")), True


def _check_shape(body: dict, req: Request) -> None:
    """Tests' tripwire (``check_responses``): a reply off the pinned types is a sandbox bug."""
    problems = shapes.problems(body)
    if problems:
        raise AssertionError(
            f"{req.method} {req.path} answered off the pinned types: {'; '.join(problems[:5])}"
        )
