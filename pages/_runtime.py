"""Streamlit-side glue shared by every page: the app, the signed-in actor, guards, actions.

Caching lives here at the edge (``st.cache_resource`` for the app), so services stay
framework-free.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import streamlit as st

import bootstrap
from components.literal import literal
from services.adapters.backoff import outcome_unknown
from services.auth import PERMISSIONS, Actor
from services.errors import FcopsError, NothingChanged, StillRunning
from services.rules.ids import MAX_ID_LENGTH, is_id, overlong
from services.rules.secrets import mask_secrets

T = TypeVar("T")
log = logging.getLogger("fcops.ui")

MODE_BADGES = {
    "sandbox": ("Sandbox", "blue", ":material/science:"),
    "test": ("Stripe test mode", "orange", ":material/build:"),
    "live": ("LIVE Stripe", "red", ":material/bolt:"),
}


_webhook_url: str | None = None  # set by streamlit_app.py: the endpoint is on this server


@st.cache_resource(show_spinner="Starting fcops…")
def _build() -> bootstrap.App:
    app = bootstrap.build_app()
    # The job engine and the webhook endpoint, once per process.
    bootstrap.start_background(app, webhook_url=_webhook_url)
    return app


def start(*, webhook_url: str | None = None) -> bootstrap.App:
    """Build the app at server start (streamlit_app.py) rather than on the first visit."""
    global _webhook_url
    _webhook_url = webhook_url
    return _build()


def get_app() -> bootstrap.App:
    return _build()


def sso_claims() -> dict[str, Any] | None:
    """The identity provider's claims when single sign-on is on and the person signed in."""
    if not get_app().settings.sso_enabled:
        return None
    try:
        if not st.user.is_logged_in:
            return None
        return dict(st.user.to_dict())
    except Exception:  # no [auth] section or no script context: no single sign-on
        return None


def current_actor() -> Actor | None:
    """The signed-in user, with the role taken from the server-side credentials (the users
    file read fresh, or the identity provider's claims through the settings' role mapping);
    None when nobody is, or the sign-in no longer stands (removed, password set, logged out)."""
    from pages import _person  # see pages._person.of_session

    return _person.of_session()()


ROUTED = "_fcops_routed"  # set by dashboard.py on every run: this session goes through the router


def route_through_dashboard() -> None:
    """Run the router (dashboard.py) instead of this page when Streamlit ran the page by itself.

    Until some session has called ``st.navigation``, a fresh server treats ``pages/`` as an old
    style multipage folder: the very first request for ``/accounts?…`` runs pages/accounts.py
    directly, without the router's login, so a deep link opened on a just-started server would
    show "Sign in to see this page" and no form. Leaving that mode and rerunning makes the
    router run, which shows the login at the same URL (and, once signed in, this page).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get(ROUTED):
        PagesManager.uses_pages_directory = False
        st.rerun()


def typed_path() -> str:
    """The URL path the browser named the page by ("Users" for /Users), when this run was asked
    for by address (a typed or pasted URL, a bookmark, a reload); "" for "/" and for a run asked
    for by page (a sidebar click, a widget, st.switch_page), which names it by its hash."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or ctx.pages_manager.intended_page_script_hash:
        return ""
    return str(ctx.pages_manager.intended_page_name or "")


def open_page_at(url_path: str) -> None:
    """Before ``st.navigation``: run the page at ``url_path`` ("" the default page) instead of
    the one the address named (:func:`typed_path`), so Streamlit resolves it without its "Page
    not found" pop-up, and the browser's address becomes that page's."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None:
        ctx.pages_manager.set_script_intent("", url_path)


GUARDED = "_fcops_guarded"  # (username, role) the page's guard let in on its last full run
REFUSED = "refused"  # ... or (username, role, REFUSED): the guard refused them on that run


def guard(permission: str) -> Actor:
    """Stop the page (showing only a message) unless the signed-in role has ``permission``."""
    route_through_dashboard()
    note_page()
    actor = current_actor()
    if actor is None:
        st.session_state[GUARDED] = ("", "", REFUSED)
        st.warning("Sign in to see this page.", icon=":material/lock:")
        st.stop()
    if not actor.can(permission):
        st.session_state[GUARDED] = (actor.username, actor.role, REFUSED)
        allowed = ", ".join(sorted(PERMISSIONS.get(permission, ())))
        st.error(f"Your role ({actor.role}) cannot open this page. It is for: {allowed}.")
        st.stop()
    st.session_state[GUARDED] = (actor.username, actor.role)
    get_app().services.gateway.serve_a_person()  # a person waits: reads give up sooner
    return actor


def mode_badge() -> None:
    label, color, icon = MODE_BADGES[get_app().mode]
    st.badge(label, color=color, icon=icon)  # type: ignore[arg-type]


def page_header(title: str, caption: str | None = None) -> None:
    """Title plus the mode badge every page shows."""
    left, right = st.columns([4, 1], vertical_alignment="center")
    left.title(title)
    with right:
        mode_badge()
    if caption:
        st.caption(caption)


def show_error(err: BaseException) -> None:
    if isinstance(err, NothingChanged):  # refused by how things already were: not an error
        show_unchanged(str(err), as_asked=err.as_asked)
    elif isinstance(err, StillRunning):  # the same change still running: followed, not an error
        st.info(mask_secrets(str(err)), icon=":material/hourglass_top:")
    elif isinstance(err, FcopsError):
        st.error(mask_secrets(str(err)), icon=":material/error:")
    else:
        log.exception("Unexpected error", exc_info=err)
        st.error(
            "Something unexpected went wrong and nothing was changed. The details were written to the "
            "server log; try again, and tell an admin if it keeps happening.",
            icon=":material/error:",
        )


def show_unchanged(sentence: str, *, as_asked: bool) -> None:
    """A refusal that changed nothing (:class:`NothingChanged`): an info when things already
    are as asked (already canceled, already expired), else a warning (already succeeded)."""
    if as_asked:
        st.info(mask_secrets(sentence), icon=":material/info:")
    else:
        st.warning(mask_secrets(sentence), icon=":material/info:")


def signed_out_elsewhere() -> bool:
    """True (and nothing may be done) when this tab's sign-in was logged out in another tab.

    The router checks on every full run, before the page; this covers what runs without it:
    widget callbacks (before the router) and fragment reruns (the fragment alone), which then
    rerun the whole app so the login form shows."""
    if not st.session_state.get("authentication_status"):
        return False
    from pages import _session  # see current_actor

    if not _session.ended_elsewhere():
        return False
    st.warning(_session.ENDED_ELSEWHERE, icon=":material/logout:")
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and ctx.fragment_ids_this_run:
        st.rerun()
    return True


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run a service call; on failure show a sentence (never a stack trace) and return None.
    Nothing is called once this sign-in was logged out in another tab.

    Every :class:`~services.auth.Actor` among the arguments is the person as they are now
    (:func:`acting_as`), not as the page's last full run saw them: a fragment's own run (the Jobs
    board's "Try again") and a widget's callback run without the page's guard, and a user
    demoted or removed since then acted once more with the old role. The service's role check
    then refuses (and audits) what the current role may not do."""
    if signed_out_elsewhere():
        return None
    try:
        args, kwargs = as_now(args, kwargs)
        return fn(*args, **kwargs)
    except Exception as err:  # the page must never show a traceback
        show_error(err)
        return None


def as_now(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """``args`` and ``kwargs`` with every actor among them as the person is now (:func:`acting_as`)."""
    from pages import _person

    return _person.as_now(args, kwargs)


def idempotency_key(scope: str, payload: Any) -> str:
    """A key stable across reruns and double clicks for the same request in this session.

    It changes when the payload changes or when :func:`new_request` starts a fresh request.
    """
    nonce_key = f"_idem_nonce_{scope}"
    if nonce_key not in st.session_state:
        st.session_state[nonce_key] = secrets.token_hex(8)
    blob = json.dumps(payload, sort_keys=True, default=str)
    digest = hashlib.sha256(f"{st.session_state[nonce_key]}|{blob}".encode()).hexdigest()[:32]
    return f"fcops-{scope}-{digest}"


def new_request(scope: str) -> None:
    """Forget the previous request so the next submit creates a new object."""
    st.session_state[f"_idem_nonce_{scope}"] = secrets.token_hex(8)


def forget_key_unless_unknown(scope: str, err: BaseException) -> None:
    """After a failure Stripe answered (any HTTP error, a refusal, a saved 500) the key is
    spent: Stripe would replay that answer, so the person's retry becomes a new request. Only
    an unknown outcome (timeout, connection error, same request in flight) keeps the key, so
    the retry is the same request and Stripe does it at most once (reference §1.6). An error
    marked ``keep_idempotency_key`` (a microdeposit mismatch) keeps it too."""
    if not outcome_unknown(err) and not getattr(err, "keep_idempotency_key", False):
        new_request(scope)


def acting_as(actor: Actor) -> Actor:
    """The person behind ``actor`` as they are now, for a change they ask for. A widget's
    callback runs before the router and the page's guard, and a fragment's own run without the
    page, with the actor of the page's last run: an admin removed (or made ops) since then changed
    things once more with the old role. When that sign-in no longer stands, the actor every
    service refuses (and audits the refusal of): :func:`services.auth.sign_in_ended`."""
    from pages import _person

    return _person.acting_as(actor)


def call_keyed(
    scope: str, payload: Any, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T | None:
    """:func:`call` with ``idempotency_key`` from ``scope``/``payload``; on a failure the key
    is kept only when the outcome is unknown (:func:`forget_key_unless_unknown`). A change: it
    is made as the person is now (:func:`acting_as`), not as the page's last run saw them."""
    return call_keyed_routed((), scope, payload, fn, *args, **kwargs)


def call_keyed_routed(
    routed: tuple[type[Exception], ...],
    scope: str, payload: Any, fn: Callable[..., T], *args: Any, **kwargs: Any,
) -> T | None:
    """:func:`call_keyed`, except that a failure of a ``routed`` type is not shown here: the
    caller, given None, shows it its own way (Flows opens its conflict panel on a ``Conflict``,
    which says the same sentence). The one path of every keyed change a page asks for."""
    if signed_out_elsewhere():
        return None
    key = idempotency_key(scope, payload)
    try:
        args, kwargs = as_now(args, kwargs)
        return fn(*args, idempotency_key=key, **kwargs)
    except Exception as err:  # the page must never show a traceback
        forget_key_unless_unknown(scope, err)
        if not isinstance(err, routed):
            show_error(err)
        return None


@contextmanager
def waiting_for_stripe(doing: str) -> Iterator[None]:
    """A spinner saying what fcops asks Stripe (``doing``: "Reading the account from Stripe…"),
    with the seconds waited, while a person waits for it. Streamlit draws it after half a
    second, so a quick answer shows none; a Stripe that hangs (a person's read waits up to
    15 s) is never a page with only its header on it."""
    with st.spinner(doing, show_time=True):
        yield


def call_stripe(doing: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """:func:`call` for a service call that reads or asks Stripe while a person waits (on a
    page's arrival or on a click), under :func:`waiting_for_stripe`'s spinner."""
    with waiting_for_stripe(doing):
        return call(fn, *args, **kwargs)


def call_stripe_keyed(
    doing: str, scope: str, payload: Any, fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T | None:
    """:func:`call_keyed` under :func:`waiting_for_stripe`'s spinner (a change asked of Stripe)."""
    with waiting_for_stripe(doing):
        return call_keyed(scope, payload, fn, *args, **kwargs)


# --------------------------------------------------------------------------- mirrored accounts

AUTOSYNCED = "_accounts_autosynced"  # a page's first account sync has started (once per session)
LINGER = "_fcops_linger"  # {key: (sentence, when)}: warnings a rerun soon after must not drop
LINGER_SECONDS = 10.0


def linger(key: str, sentence: str) -> None:
    """Warn ``sentence`` on this run and the runs of the next seconds (see :func:`lingering`):
    a rerun right after (a first-visit sync ending) discards what this run drew, and a link's
    parameter, once read, is gone from the URL, so nothing would say it again."""
    st.session_state.setdefault(LINGER, {})[key] = (sentence, time.monotonic())


def lingering(key: str) -> None:
    """Draw the warning :func:`linger` left under ``key`` while it is recent."""
    entry = st.session_state.get(LINGER, {}).get(key)
    if entry is not None and time.monotonic() - entry[1] < LINGER_SECONDS:
        st.warning(entry[0], icon=":material/link_off:")


def address_change(
    seen_key: str, param: str = "account", limit: int = MAX_ID_LENGTH
) -> tuple[bool, str | None]:
    """Whether the URL's ``?param=`` differs from what this session last read or wrote (a link,
    a reload, a new tab, Back or Forward), and what it says then: its value (at most ``limit``
    characters) or None, no parameter, which means nothing is chosen (the page shows its list or
    its empty form). The URL is the truth on every step of the history; the person's choices go
    into it with :func:`keep_in_address`, and a plain rerun writes nothing. The whole value is
    compared: a longer one cut for comparing would never equal the one written, and every run
    would take it again over what the person typed since."""
    changed, values = address_choice(seen_key, (param,), limit)
    return changed, values[0] if values else None


def address_choice(
    seen_key: str, params: Sequence[str], limit: int = MAX_ID_LENGTH
) -> tuple[bool, tuple[str, ...] | None]:
    """:func:`address_change` for one choice the URL holds in several parameters, read and
    written together (Balance check's ``?check=&amount=&currency=``): whether any differs from
    what this session last read or wrote, and then their values ("" for one absent), or None
    when the first is absent (nothing chosen)."""
    said = tuple(str(st.query_params.get(param) or "") for param in params)
    if said == seen_values(seen_key, len(params)):
        return False, None
    st.session_state[seen_key] = said[0] if len(said) == 1 else said
    return True, tuple(value[:limit] for value in said) if said[0] else None


def seen_values(seen_key: str, count: int) -> tuple[str, ...]:
    """The ``count`` values last read or written under ``seen_key`` ("" for none): one
    parameter's is kept as its value (:func:`linked_customer` writes the same key), several
    as a tuple."""
    seen = st.session_state.get(seen_key)
    values = seen if isinstance(seen, tuple) else (seen,)
    return tuple(str(value or "") for value in values) + ("",) * (count - len(values))


def keep_in_address(seen_key: str, value: str | None, param: str = "account") -> None:
    """Put ``value`` in the URL's ``?param=`` (``?account=`` by default; none, the parameter
    out), so a reload, a new tab or a colleague given the URL opens it again. A change is a
    browser history entry, Back returns to the one before: call it when the person chooses
    something, never on a plain rerun (a page writing its state back over the URL Back brought
    would undo the Back and lose the Forward)."""
    keep_choice_in_address(seen_key, (param,), (value,) if value else None)


def keep_choice_in_address(
    seen_key: str, params: Sequence[str], values: Sequence[str] | None
) -> None:
    """:func:`keep_in_address` for a choice held in several parameters (:func:`address_choice`):
    all of them written in one change, one browser history entry (None: all taken out). A
    parameter whose value is "" is left out of the URL (an optional one, such as Balance
    check's ``refresh``), as :func:`address_choice` reads a missing one as ""."""
    wanted = tuple(values) if values else None
    said = {param: value for param, value in zip(params, wanted or (), strict=False) if value}
    now = {param: st.query_params.get(param) for param in params if param in st.query_params}
    if said != now and set(now) <= set(said):  # set or changed in place: one change
        st.query_params.update(said)
    elif said != now:  # some taken out: the rest written again, one change too
        others = {name: st.query_params.get_all(name) for name in st.query_params
                  if name not in params}  # fmt: skip
        st.query_params.from_dict({**others, **said})
    st.session_state[seen_key] = (wanted[0] if len(wanted) == 1 else wanted) if wanted else None


# Streamlit writes st.query_params as a new browser history entry, and on the run of a sidebar
# click before the browser has moved to the new page: writing the address on that run added two
# entries, the first the old page's path with the new query (/accounts?check=…), so Back from the
# page came back... to Accounts with a check in its address, and once more to Accounts. The
# browser's own history.replaceState, once it is on the page, puts the address in place instead.
_REPLACE = (
    "<script>(() => {{ let tries = 0; const put = () => {{"
    " if (location.pathname.endsWith({path})) {{"
    " history.replaceState(history.state, '', location.pathname + {query}); }}"
    " else if (tries++ < 100) {{ setTimeout(put, 30); }} }}; put(); }})();</script>"
)


def replace_address(url_path: str, params: dict[str, str]) -> None:
    """Put ``params`` in the address of the page at ``url_path`` in place of its current history
    entry, not as a new one: for a page that, arrived at by the sidebar (no query), shows again
    what this session left on it. Streamlit's own st.query_params is not changed on this run;
    the browser sends the new query with the next one (so :func:`address_choice`'s seen key
    must already hold it)."""
    from urllib.parse import urlencode

    def js(text: str) -> str:  # a JS string that cannot end the script element
        return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e")

    query = "?" + urlencode(params) if params else ""
    st.html(_REPLACE.format(path=js("/" + url_path), query=js(query)), unsafe_allow_javascript=True)


PAGE_NOW = "_fcops_page"  # the page of this session's last run (noted by guard)
ARRIVALS = "_fcops_arrivals"  # how many times this session came to a page from another one


def note_page() -> None:
    """Every page's first step (:func:`guard`): an arrival when it is not the last run's page."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    page = ctx.page_script_hash if ctx is not None else ""
    if st.session_state.get(PAGE_NOW) != page:
        st.session_state[PAGE_NOW] = page
        st.session_state[ARRIVALS] = st.session_state.get(ARRIVALS, 0) + 1


def arrived(seen_key: str) -> bool:
    """Whether this run is the page's first since the session came from another page (a
    sidebar click, whose URL has no query) or started; once per arrival for ``seen_key``."""
    count = st.session_state.get(ARRIVALS, 0)
    if st.session_state.get(seen_key) == count:
        return False
    st.session_state[seen_key] = count
    return True


def drop_overlong_id(param: str, key: str, otherwise: str, seen_key: str = "") -> bool:
    """False when the URL's ``?param=`` is too long to be any Stripe ID (one of 5,000 was cut to
    100 and sent): it leaves the URL before anything reads it, and the refused-ID sentence,
    ending with ``otherwise``, lingers under ``key``; one this session wrote (``seen_key``: typed
    in a box, refused there) goes quietly, no longer the one seen (not a move to no choice)."""
    said = str(st.query_params.get(param) or "")
    if refused := overlong(said):
        del st.query_params[param]
        if seen_key and seen_values(seen_key, 1)[0] == said:
            st.session_state[seen_key] = None
        else:
            linger(key, f"{refused} The link's {param} was left out: {otherwise}")
    lingering(key)
    return not refused


def linked_customer(key: str, otherwise: str) -> str | None:
    """The ``cus_…`` of the URL's ``?customer=`` (Blocked accounts links to it) when this
    session has not taken it yet (a link, a reload, a new tab), else None. A good one stays in
    the URL: taking it out would add a browser history entry, so Back would need two presses to
    leave the page; the page keeps it in step with its choice (:func:`keep_in_address` with
    ``param="customer"`` and the seen key ``f"{key}_seen"``). Anything else is taken out and
    warned about as typed, ending with ``otherwise`` (what the page does instead); the warning
    lingers under ``key``."""
    if not drop_overlong_id("customer", f"{key}_long", otherwise):
        return None
    wanted = str(st.query_params.get("customer") or "")
    if wanted and not is_id(wanted, "cus_"):
        del st.query_params["customer"]
        linger(key, f"The link's customer {literal(wanted)} is not a customer ID (cus_…); "
               f"{otherwise}")
    lingering(key)
    if not is_id(wanted, "cus_") or st.session_state.get(f"{key}_seen") == wanted:
        return None
    st.session_state[f"{key}_seen"] = wanted
    return wanted
