"""fcops: the router. Page config, login gate, role-filtered navigation, sidebar.

Run with ``streamlit run dashboard.py``. With no STRIPE_API_KEY it starts on the offline sandbox.
"""

from __future__ import annotations

import copy
import logging

import streamlit as st
import streamlit_authenticator as stauth

from components.navigation import pages_for
from pages import _runtime as runtime
from services.errors import FcopsError
from services.users import DEMO_USERS

st.set_page_config(page_title="fcops", page_icon=":material/account_balance:", layout="wide")


def _config_error_page(message: str) -> None:
    """Show only this message. st.navigation must run even now: without it Streamlit would
    discover pages/ by itself and serve every page without a login."""
    def page() -> None:
        st.title("fcops cannot start")
        st.error(message, icon=":material/settings:")
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

authenticator = stauth.Authenticate(
    copy.deepcopy({"usernames": app.credentials.get("usernames", {})}),
    cookie_name=app.settings.cookie_name,
    cookie_key=app.cookie_key,
    cookie_expiry_days=1,
    auto_hash=False,
    login_sleep_time=0,
)


def login_page() -> None:
    st.title("fcops")
    st.caption("Bank-account operations for ACH Direct Debit with Stripe Financial Connections.")
    runtime.mode_badge()
    authenticator.login(location="main", key="fcops-login")
    status = st.session_state.get("authentication_status")
    if status:
        st.rerun()
    elif status is False:
        st.error("Username or password is incorrect.")
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
    authenticator.logout("Log out", location="sidebar", key="fcops-logout")

# Every page the role may open stays visible (13 for admins; Streamlit folds after 10 otherwise).
st.navigation(sections, expanded=True).run()
