"""An address typed in other letters' case names its page; any other unknown one is said so."""

from __future__ import annotations

from components.navigation import no_page_notice, page_typed_otherwise

PATHS = ["fcops-home", "accounts", "users", "home"]


def test_a_path_in_other_letters_case_names_its_page() -> None:
    assert page_typed_otherwise("Users", PATHS) == "users"
    assert page_typed_otherwise("ACCOUNTS", PATHS) == "accounts"


def test_a_path_no_page_has_in_any_case_names_none() -> None:
    assert page_typed_otherwise("nope", PATHS) is None
    assert page_typed_otherwise("user", PATHS) is None


def test_the_notice_names_the_address_and_where_the_person_is() -> None:
    assert no_page_notice("`/nope`") == "There is no page at `/nope`; here is Home."
    assert no_page_notice("`/nope`", "sign in to open Home") == (
        "There is no page at `/nope`; sign in to open Home."
    )


def test_a_path_by_the_title_in_the_sidebar_names_its_page() -> None:
    """/audit_log (the sidebar says "Audit log"; the page is at /audit) opened Home."""
    titles = {"audit": "Audit log", "policy": "Debit policy", "users": "Users"}
    paths = [*PATHS, "audit", "policy"]
    assert page_typed_otherwise("audit_log", paths, titles) == "audit"
    assert page_typed_otherwise("Audit-Log", paths, titles) == "audit"
    assert page_typed_otherwise("debit%20policy", paths, titles) == "policy"
    assert page_typed_otherwise("audit_logs", paths, titles) is None
    assert page_typed_otherwise("log", paths, titles) is None
