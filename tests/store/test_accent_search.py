"""Names are searched without accents (SQLite and PostgreSQL): ops type "Jose Gonzalez" or
"Nguyen" and find "José González" and "Linh Nguyễn"; typing the accents finds them too, and a
store written before this change is refolded when it opens."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlmodel import col

from services.adapters import account_mirror, customer_search, people
from services.adapters.models import CustomerRecord, DataVersion
from services.adapters.store import fill_kept, open_store, session_scope
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
    return {h.id for h in customer_search.customers_matching(engine, term.lower(), 50)}


def test_a_name_is_found_with_or_without_its_accents(engine: Any) -> None:
    _seed(engine)
    assert found(engine, "jose gonzalez") == {"cus_acc1", "cus_acc4"}
    assert found(engine, "González") == {"cus_acc1", "cus_acc4"}
    assert found(engine, "nguyen") == {"cus_acc2"}
    assert found(engine, "lukasz strasse") == found(engine, "Łukasz") == {"cus_acc3"}
    assert customer_search.count_customers_matching(engine, "gonzalez") == 2
    # The subqueries other pages search people with (Returns, Transactions, Collect lists).
    with session_scope(engine) as session:
        ids = set(session.exec(people.customers_matching(fold("NGUYỄN"))).all())
    assert ids == {"cus_acc2"}


def _as_the_old_writer_stored_them(engine: Any) -> None:
    with session_scope(engine) as session:  # only lower case, accents kept
        for cid, name in NAMES.items():
            session.execute(
                update(CustomerRecord).where(CustomerRecord.id == cid).values(name_lower=name.lower())
            )


def test_a_store_written_before_is_refolded_when_it_opens(engine: Any) -> None:
    _seed(engine)
    _as_the_old_writer_stored_them(engine)
    with session_scope(engine) as session:  # a store from before the mark has none
        session.execute(delete(DataVersion).where(col(DataVersion.name) == people.FOLDED))
    assert found(engine, "nguyen") == set()
    assert "customers.name_lower" in fill_kept(engine)
    assert found(engine, "nguyen") == {"cus_acc2"}
    assert "customers.name_lower" not in fill_kept(engine)  # once: nothing stale is left


def test_names_are_read_to_refold_once_per_store_not_at_every_open(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every open read every customer's name to find stale ones; the store now keeps a mark.
    A name_lower made stale by hand after the first open shows whether a later open read the
    names again: it stays stale until the fold rule changes."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = open_store(url)
    _seed(first)
    _as_the_old_writer_stored_them(first)
    first.dispose()

    again = open_store(url)
    assert people.refold_names(again) == 0
    assert found(again, "nguyen") == set()  # not refolded: the names were not read
    again.dispose()

    monkeypatch.setattr(people, "FOLD_RULE", people.FOLD_RULE + 1)  # the rule changed
    changed = open_store(url)
    assert found(changed, "nguyen") == {"cus_acc2"}  # refolded once, at this open
    assert people.refold_names(changed) == 0
    changed.dispose()
