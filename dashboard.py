"""fcops: the router. Page config, login gate, role-filtered navigation, sidebar.

Run with ``streamlit run dashboard.py``. With no STRIPE_API_KEY it starts on the offline sandbox.
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st
import streamlit_authenticator as stauth

from components.navigation import pages_for
from pages import _runtime as runtime
from services import users
from services.errors import FcopsError
from services.rules.secrets import mask_secrets
from services.usecases import sign_in, sign_in_sso
from services.users import DEMO_USERS

st.set_page_config(page_title="fcops", page_icon=":material/account_balance:", layout="wide")


def _config_error_page(message: str) -> None:
    """Show only this message. st.navigation must run even now: without it Streamlit would
    discover pages/ by itself and serve every page without a login."""
    def page() -> None:
        st.title("fcops cannot start")
        st.error(mask_secrets(message), icon=":material/settings:")
        st.caption("Fix the setting and reload. See .streamlit/secrets.toml.example for every setting.")

    st.navigation([st.Page(page, title="Setup needed", icon=":material/settings:")]).run()
    st.stop()


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


class CheckedLogin:
    """Stands in for streamlit-authenticator's authentication controller. The library keeps its
    login form, session state and cookie; every password goes first through
    ``services.usecases.sign_in`` (growing delay, lockout, audit, the same work for unknown
    usernames, demo passwords refused outside sandbox mode), and a remembered cookie only signs
    in a user the users file still holds."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def login(
        self,
        username: str | None = None,
        password: str | None = None,
        *args: Any,
        token: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> bool | None:
        if token is not None:
            if users.get_user(app.settings.users_file, str(token.get("username", ""))) is None:
                return None  # removed since the cookie was set: show the form instead
            return bool(self._inner.login(token=token))
        if not username or not password:
            st.session_state["authentication_status"] = False
            st.session_state[SIGN_IN_MESSAGE] = "Enter your username and your password."
            return False
        # The same normalisation the library applies before it checks the hash.
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
            return False
        st.session_state.pop(SIGN_IN_MESSAGE, None)
        return bool(self._inner.login(username, password, *args, **kwargs))


# Built on every run from the users file as it is now (users.credentials reads it fresh).
authenticator = stauth.Authenticate(
    {"usernames": app.credentials.get("usernames", {})},
    cookie_name=app.settings.cookie_name,
    cookie_key=app.cookie_key,
    cookie_expiry_days=1,
    auto_hash=False,
    login_sleep_time=0,
)
authenticator.authentication_controller = CheckedLogin(authenticator.authentication_controller)  # type: ignore[assignment]


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
    authenticator.login(location="main", key="fcops-login")
    status = st.session_state.get("authentication_status")
    if status:
        st.rerun()
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
    # Signed in, but the users file no longer holds this user (or their role): sign out now.
    authenticator.authentication_controller.logout()
    authenticator.cookie_controller.delete_cookie()
    st.session_state["authentication_status"] = None
claims = runtime.sso_claims() if actor is None or actor.username.startswith("sso:") else None
if claims is not None and not st.session_state.get(SSO_AUDITED):
    st.session_state[SSO_AUDITED] = True  # one audit row per sign-in, not per rerun
    sign_in_sso.record(app.engine, sign_in_sso.resolve(claims, app.settings), claims=claims)
if actor is None and claims is not None:
    st.navigation([st.Page(sso_refused_page, title="No access", icon=":material/block:",
                           url_path="no-access")]).run()
    st.stop()
if actor is None:
    # Always call st.navigation, also when signed out: otherwise Streamlit would discover pages/
    # by itself and every page would be reachable by URL without logging in.
    st.navigation([st.Page(login_page, title="Sign in", icon=":material/login:", url_path="login")]).run()
    st.stop()

assert actor is not None
sections: dict[str, list[st.Page]] = {}
for spec in pages_for(actor.can):
    sections.setdefault(spec.section, []).append(st.Page(spec.file, title=spec.title, icon=spec.icon))

with st.sidebar:
    st.markdown(f"**{actor.name}**  \n`{actor.username}` · {actor.role}")
    runtime.mode_badge()
    if actor.username.startswith("sso:"):
        if st.button("Log out", key="fcops-sso-logout"):
            st.session_state.pop(SSO_AUDITED, None)
            st.logout()
    else:
        authenticator.logout("Log out", location="sidebar", key="fcops-logout")

st.navigation(sections).run()
