"""fcops: the router. Page config, login gate, role-filtered navigation, sidebar.

Run with ``streamlit run dashboard.py``. With no STRIPE_API_KEY it starts on the offline sandbox.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

import streamlit as st
from streamlit_authenticator.controllers import AuthenticationController

from components.literal import literal
from components.navigation import PAGES, PageSpec, no_page_notice, page_typed_otherwise, pages_for
from pages import _live as live
from pages import _runtime as runtime
from pages import _session as session
from services.errors import FcopsError
from services.rules.secrets import mask_secrets
from services.usecases import sign_in, sign_in_sso
from services.users import DEMO_USERS

st.set_page_config(page_title="fcops", page_icon=":material/account_balance:", layout="wide")
st.session_state[runtime.ROUTED] = True  # see runtime.route_through_dashboard


def _config_error_page(message: str) -> None:
    """Show only this message. st.navigation must run even now: without it Streamlit would
    discover pages/ by itself and serve every page without a login."""
    def page() -> None:
        st.title("fcops cannot start")
        st.error(mask_secrets(message), icon=":material/settings:")
        st.caption("Fix the setting and reload. See .streamlit/secrets.toml.example for every setting.")

    live.run_page(st.navigation([st.Page(page, title="Setup needed", icon=":material/settings:")]))
    live.stop()


try:
    app = runtime.get_app()
except Exception as err:  # whatever happens, st.navigation must run (see _config_error_page)
    if isinstance(err, FcopsError):
        _config_error_page(str(err))
    logging.getLogger("fcops").exception("fcops failed to start")
    _config_error_page(
        "fcops could not start because of an unexpected error. The details are in the server log."
    )
    raise  # unreachable: _config_error_page stops the script

SIGN_IN_MESSAGE = "_fcops_sign_in_message"


def _client_address() -> str:
    """The address the browser's connection came from ("local" for localhost). Behind a proxy
    this is the proxy: then the per-username limits still hold, the per-client ones are shared."""
    ip = st.context.ip_address
    return ip if isinstance(ip, str) and ip else "local"


def check_password(username: str, password: str) -> None:
    """One press of Login: the password goes through ``services.usecases.sign_in`` (growing
    delay, lockout, audit, the same work for unknown usernames, demo passwords refused outside
    sandbox mode); a success signs this session in, a refusal leaves the sentence to show."""
    if not username or not password:
        st.session_state["authentication_status"] = False
        st.session_state[SIGN_IN_MESSAGE] = "Enter your username and your password."
        return
    # The normalisation streamlit-authenticator applied before it checked the hash.
    username, password = username.lower().strip(), password.strip()
    result = sign_in.sign_in(
        app.engine,
        users_file=app.settings.users_file,
        username=username,
        password=password,
        client=_client_address(),
        sandbox=app.mode == "sandbox",
    )
    if not result.ok:
        st.session_state["authentication_status"] = False
        st.session_state[SIGN_IN_MESSAGE] = result.message
        return
    st.session_state.pop(SIGN_IN_MESSAGE, None)
    # streamlit-authenticator's controller keeps its session state (status, name, email,
    # roles) as it did behind its own form; it draws nothing, so nothing reruns the page.
    controller = AuthenticationController(
        copy.deepcopy({"usernames": usernames}), auto_hash=False
    )
    if not controller.login(username, password):  # the same hash: only a users-file race
        st.session_state["authentication_status"] = False
        st.session_state[SIGN_IN_MESSAGE] = "Username or password is incorrect."
        return
    session.signed_in_by_form(username, app.cookie_key, lifetime_days, usernames.get(username))


def login_form() -> None:
    """The username and password form. Drawn by fcops itself, not by streamlit-authenticator's
    ``Authenticate`` (its controller still signs the session in, :func:`check_password`):
    building ``Authenticate`` draws a cookie-manager component whose first answer (a moment
    after the page shows) reruns the script, and with Streamlit's fast reruns that stops the
    run handling a Login pressed just then and starts another beside it: the attempt was
    counted, but the new run drew the page before the refusal was known (no message), or
    dropped the press altogether. This page draws no component, so nothing reruns it unasked."""
    with st.form(key="fcops-login"):
        st.subheader("Login")
        username = st.text_input("Username", autocomplete="off")
        password = st.text_input("Password", type="password", autocomplete="off")
        if st.form_submit_button("Login"):
            check_password(username, password)


SSO_AUDITED = "_fcops_sso_audited"


def _has_auth_section() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def sso_refused_page() -> None:
    """Signed in at the identity provider, but no fcops role: say so, offer to sign out."""
    claims = runtime.sso_claims() or {}
    outcome = sign_in_sso.resolve(claims, app.settings)
    st.title("No access to fcops")
    st.error(outcome.message, icon=":material/block:")
    if st.button("Sign out", icon=":material/logout:"):
        st.session_state.pop(SSO_AUDITED, None)
        st.logout()


usernames = app.credentials.get("usernames", {})
cookie_name = app.settings.cookie_name
lifetime_days = app.settings.cookie_expiry_days

# A new session (F5, new tab, typed URL) signs in from the browser's cookie; a sign-in past its
# lifetime ends here, whatever the tab still shows.
session.restore(cookie_name, app.cookie_key, usernames)
if session.expired():
    session.log_out()
# Always this one slot, drawn or not, so the page below keeps its place in the element tree
# whether a cookie writer is in it (otherwise Streamlit would redraw the whole page).
with st.empty():
    just_signed_in = session.sync_cookie(cookie_name)

# Every page's URL path, so a signed-out visit to /accounts?… shows the login *at that URL*;
# after sign-in the same path resolves to the real page and keeps its query string.
# Home, the default page, is served at / whatever its url_path, which Streamlit still reserves
# and never resolves: opening /home (a bookmark; home.py's own name) showed "Page not found".
# So Home's url_path is one nobody types (HOME_PATH), and /home is a hidden page that opens Home.
HOME_PATH, HOME_ALIAS = "fcops-home", "home"
ALL_PAGES = [
    (spec, st.Page(spec.file, title=spec.title, icon=spec.icon,
                   url_path=HOME_PATH if spec.file == PAGES[0].file else None))
    for spec in PAGES
]


def open_home() -> None:
    """/home: Home, at its address (/)."""
    st.switch_page(ALL_PAGES[0][1])


def answer_typed_address(pages: list[Any]) -> str | None:
    """Before ``st.navigation``: a path in other letters' case (/Users) or by its sidebar title
    (/audit_log for Audit log at /audit) opens its page (the query kept); a path no page has opens
    the default page without the query meant for that path, and is returned for the page to say
    so. Streamlit matched only exact paths, and ran Home for any other beneath a pop-up that a
    rerun (the sign-in cookie's) can take away: /nope opened Home without a word."""
    typed = runtime.typed_path()
    url_paths = [page.url_path for page in pages]
    if not typed or typed in url_paths:
        return None
    same = page_typed_otherwise(typed, url_paths, {page.url_path: page.title for page in pages})
    if same is None:
        st.query_params.clear()  # /audit_log?actor=… left "?actor=…" in Home's address
    runtime.open_page_at(same or "")  # "": the default page
    return None if same else typed


def no_page_here(typed: str | None, where: str) -> None:
    if typed:
        st.info(no_page_notice(literal("/" + typed), where), icon=":material/link_off:")


def login_page() -> None:
    st.title("fcops")
    st.caption("Bank-account operations for ACH Direct Debit with Stripe Financial Connections.")
    runtime.mode_badge()
    if app.settings.sso_enabled:
        if _has_auth_section():
            if st.button("Sign in with single sign-on", icon=":material/key:", type="primary"):
                st.login()
            st.caption("Or with an fcops username and password:")
        else:
            st.warning(
                "Single sign-on is configured (FCOPS_SSO_ROLES) but .streamlit/secrets.toml has "
                "no [auth] section for the identity provider; see the README.",
                icon=":material/key_off:",
            )
    if session.signing_out():
        # The form waits until the browser has dropped the cookie: a reload or a new tab opened
        # the moment it shows must not sign the previous user back in.
        st.caption("Signing out…")
        st.button("Continue", key="fcops-signout-continue", type="tertiary",
                  on_click=session.show_form_anyway)
        return
    session.cookie_read()  # restore() has read the cookie; from now on only the form signs in
    login_form()
    status = st.session_state.get("authentication_status")
    if status:
        # No st.rerun() here: it would drop the cookie writer before the browser ran it. The
        # writer's answer reruns the script, and the same URL path then resolves to the real
        # page with its query string.
        session.sync_cookie(cookie_name)
        st.caption("Signing in…")
        st.button("Continue", key="fcops-continue", type="tertiary")
        return
    elif status is False:
        message = st.session_state.get(SIGN_IN_MESSAGE, "Username or password is incorrect.")
        st.error(message, icon=":material/lock:")
    if app.mode == "sandbox":
        with st.expander("Demo users (sandbox only)", icon=":material/info:"):
            st.table(
                {
                    "role": list(DEMO_USERS),
                    "username": [u for u, _ in DEMO_USERS.values()],
                    "password": [p for _, p in DEMO_USERS.values()],
                }
            )


actor = runtime.current_actor()
if actor is None and st.session_state.get("authentication_status"):
    # Signed in, but the users file no longer holds this user, their password was set since,
    # or this sign-in was logged out in another tab: sign out now; the rerun draws the login
    # form saying which (the cookie signs nobody in again, so it need not wait for its removal).
    session.log_out(session.why_ended(usernames.get(str(st.session_state.get("username")))))
    st.rerun()
claims = runtime.sso_claims() if actor is None or actor.username.startswith("sso:") else None
if claims is not None and not st.session_state.get(SSO_AUDITED):
    st.session_state[SSO_AUDITED] = True  # one audit row per sign-in, not per rerun
    sign_in_sso.record(app.engine, sign_in_sso.resolve(claims, app.settings), claims=claims)
if actor is None and claims is not None:
    live.run_page(st.navigation([st.Page(sso_refused_page, title="No access",
                                         icon=":material/block:", url_path="no-access")]))
    live.stop()
if actor is None:
    # Always call st.navigation, also when signed out: otherwise Streamlit would discover pages/
    # by itself and every page would be reachable by URL without logging in. Every path shows
    # only the login (hidden from any menu).
    sign_in_pages = [
        st.Page(login_page, title="Sign in", icon=":material/login:", url_path=HOME_PATH, default=True)
    ]
    sign_in_pages += [
        st.Page(login_page, title="Sign in", icon=":material/login:", url_path=page.url_path,
                visibility="hidden")
        for _, page in ALL_PAGES[1:]
    ]
    sign_in_pages.append(st.Page(login_page, title="Sign in", icon=":material/login:",
                                 url_path=HOME_ALIAS, visibility="hidden"))
    session.notice()  # "You signed out in another tab.", "Your account was removed …"
    unknown = answer_typed_address(sign_in_pages)
    sign_in_page = st.navigation(sign_in_pages, position="hidden")
    no_page_here(unknown, "sign in to open Home")
    live.run_page(sign_in_page)
    live.stop()

assert actor is not None


def refusal(spec: PageSpec) -> Callable[[], None]:
    """A stand-in for a page this role may not open: a link to it says so (no "Page not found")."""
    def not_for_your_role() -> None:
        runtime.page_header(spec.title)
        runtime.guard(spec.permission or "")

    return not_for_your_role


sections: dict[str, list[st.Page]] = {}
openable = {spec.file for spec in pages_for(actor.can)}
hidden: list[st.Page] = []
for spec, page in ALL_PAGES:
    if spec.file in openable:
        sections.setdefault(spec.section, []).append(page)
    else:
        hidden.append(
            st.Page(refusal(spec), title=spec.title, icon=spec.icon, url_path=page.url_path,
                    visibility="hidden")
        )
hidden.append(st.Page(open_home, title="Home", icon=PAGES[0].icon, url_path=HOME_ALIAS,
                      visibility="hidden"))
sections.setdefault("", []).extend(hidden)

with st.sidebar:
    st.markdown(f"**{actor.name}**  \n`{actor.username}` · {actor.role}")
    runtime.mode_badge()
    if actor.username.startswith("sso:"):
        if st.button("Log out", key="fcops-sso-logout"):
            st.session_state.pop(SSO_AUDITED, None)
            st.logout()
    else:
        st.button("Log out", key="fcops-logout", on_click=session.sign_out)

# Every page the role may open stays visible (13 for admins; Streamlit folds after 10 otherwise).
unknown = answer_typed_address([page for pages in sections.values() for page in pages])
current = st.navigation(sections, expanded=True)
if just_signed_in:
    # The browser answers the new navigation (signed-in pages instead of the login) with a rerun
    # of its own and resets the widgets it draws; running the page now would set its widgets
    # from the URL (a deep link's filters) only for that reset to show their defaults.
    st.rerun()
no_page_here(unknown, "here is Home")
live.run_page(current)  # a guard's refusal, or any page's st.stop(), forgets the old page's parts
