"""Webhook endpoints: create (answers the signing ``secret`` once), retrieve, list, delete.

Registering an endpoint connects it to delivery: every event emitted afterwards whose type is in
its ``enabled_events`` (or ``*``) is POSTed to its URL, signed with its secret, retried with
backoff (``sandbox.webhooks``, which the server plugs in as ``state.extras["webhook_connector"]``;
only loopback URLs are accepted there, the sandbox never sends traffic off the machine).
"""

from __future__ import annotations

from typing import Any

from sandbox.core import Request, State, invalid, missing, route

Obj = dict[str, Any]


def _connector(state: State) -> Any:
    return state.extras.get("webhook_connector")


def _public(endpoint: Obj) -> Obj:
    return {k: v for k, v in endpoint.items() if k != "secret"}


@route("POST", "/v1/webhook_endpoints")
def create_webhook_endpoint(req: Request, state: State) -> Obj:
    url = req.str("url")
    if not url:
        raise missing("url")
    events = req.list("enabled_events")
    if not events:
        raise missing("enabled_events")
    endpoint_id = state.new_id("we_")
    endpoint: Obj = {
        "id": endpoint_id,
        "object": "webhook_endpoint",
        "api_version": req.str("api_version") or None,
        "application": None,
        "created": state.now(),
        "description": req.str("description") or None,
        "enabled_events": [str(e) for e in events],
        "livemode": False,
        "metadata": dict(req.dict("metadata")) if req.has("metadata") else {},
        "secret": "whsec_" + state.new_id("")[:32],
        "status": "enabled",
        "url": url,
    }
    connector = _connector(state)
    if connector is None:
        raise invalid("This sandbox cannot deliver webhooks.", param="url")
    try:
        connector.connect(endpoint)
    except ValueError as err:
        raise invalid(str(err), param="url") from None
    state.add(endpoint)
    return dict(endpoint)  # the secret is only ever shown here


@route("GET", "/v1/webhook_endpoints/{id}")
def retrieve_webhook_endpoint(req: Request, state: State) -> Obj:
    return _public(state.get("webhook_endpoint", req.path_args["id"]))


@route("GET", "/v1/webhook_endpoints")
def list_webhook_endpoints(req: Request, state: State) -> Obj:
    view = state.view("webhook_endpoint")
    page = state.list_response(view, req, "/v1/webhook_endpoints")
    page["data"] = [_public(e) for e in page["data"]]
    return page


@route("DELETE", "/v1/webhook_endpoints/{id}")
def delete_webhook_endpoint(req: Request, state: State) -> Obj:
    endpoint = state.get("webhook_endpoint", req.path_args["id"])
    state.remove(endpoint)
    connector = _connector(state)
    if connector is not None:
        connector.disconnect(endpoint["id"])
    return {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
