"""Ownership review when Stripe cannot be read: the last stored verdict stays on screen.

"Check again" on an account while Stripe answered 500 used to replace the whole report with the
error sentence: the verdict and scores fcops had just stored were gone. Now the page draws the
stored check (verdict, overall and per-field scores, reason) with its age and the error
sentence, offers Try again, turns Refresh ownership off saying why, and says the owners show
again when Stripe answers (owners' personal data is never stored), as the Accounts and
Transactions pages do.
"""

from __future__ import annotations

from sqlmodel import col, select

from components.accounts_view import STORED_OWNERS
from services.adapters.models import AuditEntry
from services.adapters.store import session_scope
from tests.app.conftest import no_exceptions, open_page, texts
from tests.app.conftest import shared_app as app
from tests.app.test_accounts_stored_copy import OUTAGE, ReadsFail, gateway  # noqa: F401
from tests.app.test_ownership_page import PAGE, _check, mismatch  # noqa: F401

STORED = "Stripe could not be read just now; showing what fcops stored at"
BADGE = ":red-badge[:material/gpp_bad: Mismatch]"


def last_check_outcome(account_id: str) -> str:
    with session_scope(app().services.engine) as session:
        rows = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "ownership.check", AuditEntry.target == account_id)
            .order_by(col(AuditEntry.id).desc())
        ).all()
        return rows[0].outcome


def errors(at: object) -> str:
    return " ".join(str(e.value) for e in at.error)  # type: ignore[attr-defined]


def warnings(at: object) -> str:
    return " ".join(str(w.value) for w in at.warning)  # type: ignore[attr-defined]


def test_check_again_during_an_outage_keeps_the_stored_verdict_and_scores(
    gateway: ReadsFail,  # noqa: F811
    mismatch: tuple[str, list[str]],  # noqa: F811
) -> None:
    account_id, owners = mismatch
    at = _check(open_page(PAGE, "ops"), account_id)
    no_exceptions(at)
    assert BADGE in texts(at) and all(name in texts(at) for name in owners)
    scores = at.dataframe[0].value[["Field", "Score"]].fillna(-1).values.tolist()
    overall = next(m.value for m in at.metric if m.label == "Overall score")
    heading = " ".join(str(h.value) for h in at.subheader)

    gateway.down = True
    at.button(key="own_recheck").click().run()
    no_exceptions(at)
    assert OUTAGE in errors(at)
    assert STORED in warnings(at) and "ago" in warnings(at)
    said = warnings(at) + " " + errors(at)
    assert said.lower().count("try again in a") == 1, said
    assert BADGE in texts(at)  # the stored verdict, its scores and the account's heading
    assert "No owner matches the customer" in errors(at)
    assert next(m.value for m in at.metric if m.label == "Overall score") == overall
    assert at.dataframe[0].value[["Field", "Score"]].fillna(-1).values.tolist() == scores
    assert " ".join(str(h.value) for h in at.subheader) == heading
    assert STORED_OWNERS in texts(at)  # owners are never stored: said, not shown
    assert len(at.dataframe) == 1  # no owners table: only the per-field scores
    assert at.button(key="own_refresh").disabled
    assert last_check_outcome(account_id) == "error"  # no check ran: audited so, not a verdict

    gateway.down = False  # Stripe answers again: Try again reads it, the notice goes away
    at.button(key="own_read_again").click().run()
    no_exceptions(at)
    assert STORED not in warnings(at) and OUTAGE not in errors(at)
    assert BADGE in texts(at) and all(name in texts(at) for name in owners)


def test_an_account_never_checked_is_still_the_error_sentence(
    gateway: ReadsFail,  # noqa: F811
) -> None:
    gateway.down = True
    at = _check(open_page(PAGE, "ops"), "fca_neverchecked0003")
    no_exceptions(at)
    assert OUTAGE in errors(at)
    assert not at.subheader and not at.warning and not at.dataframe
