"""Names are searched without accents (SQLite and PostgreSQL): ops type "Jose Gonzalez" or
"Nguyen" and find "José González" and "Linh Nguyễn"; typing the accents finds them too, and a
store written before this change is refolded when it opens."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from services.adapters import account_mirror, people
from services.adapters.models import CustomerRecord
from services.adapters.store import fill_kept, session_scope
from services.rules.people import fold

NAMES = {"cus_acc1": "José González", "cus_acc2": "Linh Nguyễn", "cus_acc3": "Łukasz Straße",
         "cus_acc4": "Jose Gonzalez"}


@pytest.mark.parametrize(
    ("text", "folded"),
    [("José González", "jose gonzalez"), ("Linh NGUYỄN", "linh nguyen"),
     ("Łukasz Straße", "lukasz strasse"), ("Søren Ærø", "soren aero"), ("plain", "plain")],
)
def test_fold_lowers_and_takes_the_accents_off(text: str, folded: str) -> None:
    assert fold(text) == folded


def _seed(engine: Any) -> None:
    for cid, name in NAMES.items():
        account_mirror.upsert_customer(
            engine, {"id": cid, "name": name, "email": f"{cid}@example.com", "created": 1}
        )


def found(engine: Any, term: str) -> set[str]:
    return {h.id for h in account_mirror.customers_matching(engine, term.lower(), 50)}


def test_a_name_is_found_with_or_without_its_accents(engine: Any) -> None:
    _seed(engine)
    assert found(engine, "jose gonzalez") == {"cus_acc1", "cus_acc4"}
    assert found(engine, "González") == {"cus_acc1", "cus_acc4"}
    assert found(engine, "nguyen") == {"cus_acc2"}
    assert found(engine, "lukasz strasse") == found(engine, "Łukasz") == {"cus_acc3"}
    assert account_mirror.count_customers_matching(engine, "gonzalez") == 2
    # The subqueries other pages search people with (Returns, Transactions, Collect lists).
    with session_scope(engine) as session:
        ids = set(session.exec(people.customers_matching(fold("NGUYỄN"))).all())
    assert ids == {"cus_acc2"}


def test_a_store_written_before_is_refolded_when_it_opens(engine: Any) -> None:
    _seed(engine)
    with session_scope(engine) as session:  # as the old writer stored them: only lower case
        for cid, name in NAMES.items():
            session.execute(
                update(CustomerRecord).where(CustomerRecord.id == cid).values(name_lower=name.lower())
            )
    assert found(engine, "nguyen") == set()
    assert "customers.name_lower" in fill_kept(engine)
    assert found(engine, "nguyen") == {"cus_acc2"}
    assert "customers.name_lower" not in fill_kept(engine)  # once: nothing stale is left
