"""Balance check: beside a check's result, whether the debit policy changed after it.

An admin may save a new debit policy version while a check stays on screen; its verdict was
judged by the version it names ("Policy applied (version N)"). The service says whether another
version is in force now (:func:`services.usecases.check_debit.policy_change`, one primary-key
read); a light fragment asks every few seconds, so an open result notices without a click, and
offers "Check again", which checks the same debit under the policy now in force.
"""

from __future__ import annotations

import streamlit as st

from pages import _live as live
from pages import _runtime as runtime
from services.auth import Actor
from services.context import Services
from services.usecases import check_debit

AGAIN = "bc_policy_recheck"  # "Check again" was pressed: the next page run checks the debit again
POLICY_LOOK_SECONDS = 5.0


@live.fragment(run_every=POLICY_LOOK_SECONDS)
def policy_watch(svc: Services, actor: Actor, applied_version: int) -> None:
    """Says so when the policy in force is not ``applied_version``, with "Check again"."""
    change = runtime.call(check_debit.policy_change, svc, actor, applied_version)
    if change is None:
        return
    st.warning(change.sentence(), icon=":material/policy:")
    if st.button("Check again", key="bc_policy_again", icon=":material/fact_check:"):
        st.session_state[AGAIN] = True
        st.rerun(scope="app")  # the page run checks the debit again (a fragment draws only itself)


def asked_again() -> bool:
    """Whether "Check again" was pressed (once: the flag is taken)."""
    return bool(st.session_state.pop(AGAIN, False))
