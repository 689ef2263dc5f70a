"""Account ownership (reference §2.2): each ownership refresh makes a new ``fcaowns_`` snapshot
with new ``fcaown_`` owners; older snapshots stay listable through ``…/owners?ownership=``."""

from __future__ import annotations

from sandbox import objects
from sandbox.api.financial_connections import ACCOUNTS_URL, Obj, account_of
from sandbox.core import Request, State, missing, route

OWNERSHIP = "financial_connections.account_ownership"


def new_ownership(state: State, account: Obj, now: int) -> None:
    """A new ``fcaowns_`` snapshot with new ``fcaown_`` owners for the same people."""
    old_id = account.get("ownership")
    old = state.lookup(old_id) if isinstance(old_id, str) else None
    people = [
        {k: o.get(k) for k in ("name", "email", "phone", "raw_address")}
        for o in (old["owners"]["data"] if old else [])
    ]
    if not people:
        people = [{"name": _holder_name(state, account)}]
    snap = objects.ownership(state, account=account["id"])
    for person in people:
        owner = objects.owner(state, ownership=snap["id"], refreshed_at=now, **person)
        snap["owners"]["data"].append(owner)
        state.add(owner)
    snap["created"] = now
    state.add(snap)
    account["ownership"] = snap["id"]


def _holder_name(state: State, account: Obj) -> str:
    holder = account.get("account_holder") or {}
    cus = state.lookup(holder.get("customer") or "")
    return (cus or {}).get("name") or "Jenny Rosen"


@route("GET", "/v1/financial_connections/accounts/{id}/owners")
def list_owners(req: Request, state: State) -> Obj:
    account = account_of(state, req.path_args["id"], param="account")
    own_id = req.str("ownership")
    if not own_id:
        raise missing("ownership")
    snap = state.get(OWNERSHIP, own_id, param="ownership")
    owners = snap["owners"]["data"]
    url = f"{ACCOUNTS_URL}/{account['id']}/owners"
    return state.list_response(owners, req, url, presorted=True)
