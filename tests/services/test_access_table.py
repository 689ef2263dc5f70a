"""The access table: every public service function, every role, and no actor at all.

Public service functions are found by introspection (every public function defined in a
``services/usecases`` module, and every function of ``services.audit`` and ``services.users``
that takes an actor). Each must have a row in :data:`TABLE` (the permission it needs and how to
call it) or in :data:`NO_ACTOR` / :data:`ACTOR_HELPERS` (why it is not a permission-checked
entry point), so a new public function without a row fails :func:`test_the_table_names_every_public_service_function`.

For each row and each of no actor, ops, finance, manager and admin:

- a missing actor, or a role without the permission, is refused with ``Forbidden`` (a domain
  error with a sentence; never ``AttributeError`` or ``TypeError``), nothing in the store changes
  (every table's row count), Stripe is not called, and a state-changing call (or a read that
  leaves the app, such as an export) writes exactly one ``refused`` audit row;
- an allowed role is not refused by the role check (whatever the stub Stripe then answers).

Stripe is a stub that records every call and answers "unavailable": nothing here needs Stripe to
answer, since everything checked happens before or instead of the call. Runs on SQLite and on
PostgreSQL (one store per backend for the whole module).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from dbos import DBOS
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import services.usecases as usecases_pkg
from services.auth import PERMISSIONS, ROLES, Actor
from services.context import Services
from services.errors import FcopsError, Forbidden, StripeUnavailable
from tests.conftest import PG_URL, require_postgres

NOW = 1_790_000_000
ACCOUNT, CUSTOMER = "fca_accesstable0001", "cus_accesstable0001"
SETI, PI = "seti_accesstable0001", "pi_accesstable0001"
FAILED_JOB = "intents.sync-accesstable-failed"  # a failed job to try again (in every world)
ANYONE = "signed in"  # any role; only a missing actor is refused


class StubGateway:
    """Stands in for Stripe: records every call and answers as if Stripe were unreachable."""

    last_request_id: str | None = None
    rate_limited = 0
    base_url = "http://stub.invalid"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def fresh_key(self, key: str) -> str:
        return key

    @contextmanager
    def without_backoff(self) -> Iterator[None]:
        yield

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            raise StripeUnavailable("Stripe is a stub in the access table test.")

        return call


@dataclass(frozen=True)
class World:
    svc: Services
    users_file: Path
    stripe_steps: list[str]  # side effects outside the store besides the gateway (simulator)


@dataclass(frozen=True)
class Row:
    permission: str  # a key of PERMISSIONS, or ANYONE
    call: Callable[[World, Actor | None], Any]
    writes: bool = False  # state-changing, or data leaving the app: audited, refusals too

    def allowed(self) -> frozenset[str]:
        return frozenset(ROLES) if self.permission == ANYONE else PERMISSIONS[self.permission]


def _request() -> Any:
    from services.usecases.collection_requests import CollectionRequest

    return CollectionRequest(
        id=SETI, kind="setup_intent", customer_id=CUSTOMER, status="requires_payment_method",
        flow_version=1, permissions=("payment_method",), prefetch=(), verification_method=None,
        created=NOW, payment_method_options={}, hosted_verification_url=None, replayed=False,
        client_secret="",
    )  # fmt: skip


def _status() -> Any:
    from services.usecases.view_transactions import TransactionStatus

    return TransactionStatus(
        account_id=ACCOUNT, account={"id": ACCOUNT}, institution_name="Bank", display_name="Chk",
        last4="6789", subscribed=False, has_permission=True, account_status="active",
        refresh_status=None, last_attempted_at=None, next_refresh_available_at=None,
        can_refresh=True, why_not="", cursor=None, last_synced_at=None, stored_rows=0,
    )  # fmt: skip


def _planned() -> list[Any]:
    from services.rules.debit_csv import PlannedDebit

    return [
        PlannedDebit(
            row=2, target=ACCOUNT, target_kind="account", amount=1000, currency="usd", reference="r"
        )
    ]


def _batch_result() -> Any:
    from services.rules.batch_result import BatchResult

    return BatchResult(rows=[])


def _m(name: str) -> Any:
    return importlib.import_module(f"services.usecases.{name}")


def _audit_filters() -> Any:
    return _m("export_audit").AuditFilters()


def _policy() -> Any:
    return _m("debit_policy").DebitPolicy()


def _simulate(w: World, a: Actor | None) -> Any:
    return _m("play_customer").simulate(
        w.svc, a, intent_id=SETI, step="link", params=None,
        run_step=lambda: w.stripe_steps.append("simulate"),
    )  # fmt: skip


def _users() -> Any:
    return importlib.import_module("services.users")


def _audit() -> Any:
    return importlib.import_module("services.audit")


K = {"idempotency_key": "access-table-key"}

# module.function -> (permission, call, writes)
TABLE: dict[str, Row] = {
    # accounts
    "browse_accounts.search_customers": Row("accounts.view", lambda w, a: _m("browse_accounts").search_customers(w.svc, a, "ada")),
    "browse_accounts.search_customers_page": Row("accounts.view", lambda w, a: _m("browse_accounts").search_customers_page(w.svc, a, "ada")),
    "browse_accounts.list_accounts": Row("accounts.view", lambda w, a: _m("browse_accounts").list_accounts(w.svc, a)),
    "browse_accounts.institutions": Row("accounts.view", lambda w, a: _m("browse_accounts").institutions(w.svc, a)),
    "browse_accounts.account_detail": Row("accounts.view", lambda w, a: _m("browse_accounts").account_detail(w.svc, a, ACCOUNT)),
    "export_accounts.export_accounts_csv": Row("accounts.view", lambda w, a: _m("export_accounts").export_accounts_csv(w.svc, a), writes=True),
    "lookup_account.lookup": Row("accounts.view", lambda w, a: _m("lookup_account").lookup(w.svc, a, PI)),
    "refresh_balance.refresh": Row("accounts.refresh", lambda w, a: _m("refresh_balance").refresh(w.svc, a, ACCOUNT, "balance", **K), writes=True),
    "refresh_balance.refresh_started": Row("accounts.refresh", lambda w, a: _m("refresh_balance").refresh_started(w.svc, a, ACCOUNT, "balance", **K), writes=True),
    "refresh_balance.refresh_status": Row("accounts.view", lambda w, a: _m("refresh_balance").refresh_status(w.svc, a, ACCOUNT, "balance")),
    "sync_accounts.sync_accounts": Row("accounts.sync", lambda w, a: _m("sync_accounts").sync_accounts(w.svc, a), writes=True),
    "sync_accounts.needs_first_sync": Row(ANYONE, lambda w, a: _m("sync_accounts").needs_first_sync(w.svc, a)),
    "sync_accounts.sync_info": Row("accounts.view", lambda w, a: _m("sync_accounts").sync_info(w.svc, a)),
    "blocked_accounts.blocked_accounts": Row("accounts.blocked", lambda w, a: _m("blocked_accounts").blocked_accounts(w.svc, a)),
    "blocked_accounts.find_blocked": Row("accounts.blocked", lambda w, a: _m("blocked_accounts").find_blocked(w.svc, a, search="ada")),
    "blocked_accounts.outcomes_synced": Row("accounts.blocked", lambda w, a: _m("blocked_accounts").outcomes_synced(w.svc, a)),
    # ownership
    "review_ownership.check_account": Row("ownership.review", lambda w, a: _m("review_ownership").check_account(w.svc, a, ACCOUNT), writes=True),
    "review_ownership.refresh_ownership": Row("ownership.review", lambda w, a: _m("review_ownership").refresh_ownership(w.svc, a, ACCOUNT, **K), writes=True),
    "review_ownership.find_account": Row("ownership.review", lambda w, a: _m("review_ownership").find_account(w.svc, a, ACCOUNT)),
    "review_ownership.review_list": Row("ownership.review", lambda w, a: _m("review_ownership").review_list(w.svc, a)),
    "review_ownership.eligible_accounts": Row("ownership.review", lambda w, a: _m("review_ownership").eligible_accounts(w.svc, a)),
    "review_ownership.check_all": Row("ownership.review", lambda w, a: _m("review_ownership").check_all(w.svc, a, limit=1), writes=True),
    # transactions
    "sync_transactions.subscribe": Row("transactions.manage", lambda w, a: _m("sync_transactions").subscribe(w.svc, a, ACCOUNT, **K), writes=True),
    "sync_transactions.unsubscribe": Row("transactions.manage", lambda w, a: _m("sync_transactions").unsubscribe(w.svc, a, ACCOUNT, **K), writes=True),
    "sync_transactions.refresh": Row("transactions.manage", lambda w, a: _m("sync_transactions").refresh(w.svc, a, ACCOUNT, **K), writes=True),
    "sync_transactions.sync_transactions": Row("transactions.view", lambda w, a: _m("sync_transactions").sync_transactions(w.svc, a, ACCOUNT), writes=True),
    "sync_transactions.sync_part": Row("transactions.view", lambda w, a: _m("sync_transactions").sync_part(w.svc, a, ACCOUNT, None), writes=True),
    "sync_transactions.sync_or_wait": Row("transactions.view", lambda w, a: _m("sync_transactions").sync_or_wait(w.svc, a, ACCOUNT), writes=True),
    "view_transactions.transaction_status": Row("transactions.view", lambda w, a: _m("view_transactions").transaction_status(w.svc, a, ACCOUNT)),
    "view_transactions.account_choices": Row("transactions.view", lambda w, a: _m("view_transactions").account_choices(w.svc, a, permission="transactions.view")),
    "view_transactions.account_count": Row("transactions.view", lambda w, a: _m("view_transactions").account_count(w.svc, a, permission="transactions.view")),
    "view_transactions.list_transactions": Row("transactions.view", lambda w, a: _m("view_transactions").list_transactions(w.svc, a, ACCOUNT, _m("view_transactions").TransactionFilter())),
    "view_transactions.account_insight": Row("transactions.view", lambda w, a: _m("view_transactions").account_insight(w.svc, a, _status())),
    # balances and debits
    "balance_history.for_account": Row("balances.check", lambda w, a: _m("balance_history").for_account(w.svc, a, ACCOUNT)),
    "check_debit.check_debit": Row("balances.check", lambda w, a: _m("check_debit").check_debit(w.svc, a, ACCOUNT, 1000, "usd", wait_seconds=0)),
    "check_debit.policy_change": Row("balances.check", lambda w, a: _m("check_debit").policy_change(w.svc, a, 0)),
    "check_batch.run_batch": Row("balances.check", lambda w, a: _m("check_batch").run_batch(w.svc, a, _planned(), refresh_stale=False, wait_seconds=0), writes=True),
    "check_batch.results_csv": Row("balances.check", lambda w, a: _m("check_batch").results_csv(w.svc, a, _batch_result()), writes=True),
    "check_batch.policy_in_force": Row("balances.check", lambda w, a: _m("check_batch").policy_in_force(w.svc, a)),
    "check_review.review": Row("returns.view", lambda w, a: _m("check_review").review(w.svc, a)),
    "debit_policy.current": Row("policy.edit", lambda w, a: _m("debit_policy").current(w.svc, a)),
    "debit_policy.versions": Row("policy.edit", lambda w, a: _m("debit_policy").versions(w.svc, a)),
    "debit_policy.save_policy": Row("policy.edit", lambda w, a: _m("debit_policy").save_policy(w.svc, a, _policy(), expected_version=0), writes=True),
    "retry_debit.plan": Row("returns.view", lambda w, a: _m("retry_debit").plan(w.svc, a, PI)),
    "retry_debit.why_not_plannable": Row("returns.view", lambda w, a: _m("retry_debit").why_not_plannable(w.svc, a, PI)),
    "retry_picker.retry_target": Row("returns.view", lambda w, a: _m("retry_picker").retry_target(w.svc, a, PI)),
    "retry_debit.create_retry": Row("debits.retry", lambda w, a: _m("retry_debit").create_retry(w.svc, a, PI, wait_seconds=0), writes=True),
    "debit_outcomes.sync_outcomes": Row("returns.sync", lambda w, a: _m("debit_outcomes").sync_outcomes(w.svc, a), writes=True),
    "sync_intents.needs_first_sync": Row(ANYONE, lambda w, a: _m("sync_intents").needs_first_sync(w.svc, a)),
    "debit_outcomes.needs_first_sync": Row(ANYONE, lambda w, a: _m("debit_outcomes").needs_first_sync(w.svc, a)),
    "returns_report.report": Row("returns.view", lambda w, a: _m("returns_report").report(w.svc, a)),
    "returns_report.debits_behind": Row("returns.view", lambda w, a: _m("returns_report").debits_behind(w.svc, a)),
    "returns_report.cache_keys": Row("returns.view", lambda w, a: _m("returns_report").cache_keys(w.svc, a)),
    "returns_report.export_csv": Row("returns.view", lambda w, a: _m("returns_report").export_csv(w.svc, a), writes=True),
    # collection requests
    "collect_customers.create_customer": Row("collect.create", lambda w, a: _m("collect_customers").create_customer(w.svc, a, email="ada@example.com", name="Ada", **K), writes=True),
    "collection_requests.create_setup_intent": Row("collect.create", lambda w, a: _m("collection_requests").create_setup_intent(w.svc, a, customer_id=CUSTOMER, **K), writes=True),
    "collection_requests.create_hosted_link": Row("collect.create", lambda w, a: _m("collection_requests").create_hosted_link(w.svc, a, customer_id=CUSTOMER, **K), writes=True),
    "collection_requests.create_fc_session": Row("collect.create", lambda w, a: _m("collection_requests").create_fc_session(w.svc, a, customer_id=CUSTOMER, **K), writes=True),
    "collection_requests.intent_view": Row("collect.create", lambda w, a: _m("collection_requests").intent_view(w.svc, a, SETI)),
    "collection_requests.current_view": Row("collect.create", lambda w, a: _m("collection_requests").current_view(w.svc, a, SETI)),
    "collection_requests.session_progress": Row("collect.create", lambda w, a: _m("collection_requests").session_progress(w.svc, a, _request())),
    "collection_requests.current_session": Row("collect.create", lambda w, a: _m("collection_requests").current_session(w.svc, a, _request())),
    "collect_cancel.cancel_request": Row("collect.cancel", lambda w, a: _m("collect_cancel").cancel_request(w.svc, a, SETI, reason=None, **K), writes=True),
    "collect_reopen.reopen_request": Row("collect.create", lambda w, a: _m("collect_reopen").reopen_request(w.svc, a, SETI)),
    "collect_reopen.current_link": Row("collect.create", lambda w, a: _m("collect_reopen").current_link(w.svc, a, _request())),
    "collect_lists.open_requests": Row("collect.create", lambda w, a: _m("collect_lists").open_requests(w.svc, a, search="ada")),
    "collect_lists.open_request_count": Row("collect.create", lambda w, a: _m("collect_lists").open_request_count(w.svc, a, search="ada")),
    "collect_lookup.made_by_attempt": Row("collect.create", lambda w, a: _m("collect_lookup").made_by_attempt(w.svc, a, customer_id=CUSTOMER, since=NOW, **K), writes=True),
    "collect_open.customer_requests": Row("collect.create", lambda w, a: _m("collect_open").customer_requests(w.svc, a, CUSTOMER)),
    "collect_open.creation": Row("collect.create", lambda w, a: _m("collect_open").creation(w.svc, a, 1)),
    "collect_cancel_runs.cancels_running": Row("collect.cancel", lambda w, a: _m("collect_cancel_runs").cancels_running(w.svc, a, [SETI])),
    "collect_cancel_runs.cancels_failed": Row("collect.cancel", lambda w, a: _m("collect_cancel_runs").cancels_failed(w.svc, a, [SETI])),
    "collect_cancel_runs.cancels_failed_unlisted": Row("collect.cancel", lambda w, a: _m("collect_cancel_runs").cancels_failed_unlisted(w.svc, a, [SETI])),
    "collect_cancel_runs.cancels_failed_unqueued": Row("collect.cancel", lambda w, a: _m("collect_cancel_runs").cancels_failed_unqueued(w.svc, a, [SETI])),
    "collect_cancel_runs.cancellation": Row("collect.cancel", lambda w, a: _m("collect_cancel_runs").cancellation(w.svc, a, 1)),
    "collect_cancel.uncancelable": Row("collect.cancel", lambda w, a: _m("collect_cancel").uncancelable(w.svc, a, {SETI: "requires_action"})),
    "collect_lists.customer_words": Row("collect.create", lambda w, a: _m("collect_lists").customer_words(w.svc, a, CUSTOMER)),
    "retry_picker.retry_choices": Row("returns.view", lambda w, a: _m("retry_picker").retry_choices(w.svc, a, search="ada")),
    "view_transactions.transactions_page": Row("transactions.view", lambda w, a: _m("view_transactions").transactions_page(w.svc, a, ACCOUNT, _m("view_transactions").TransactionFilter())),
    "export_transactions.export_csv": Row("transactions.view", lambda w, a: _m("export_transactions").export_csv(w.svc, a, ACCOUNT, _m("view_transactions").TransactionFilter()), writes=True),
    "microdeposits.microdeposit_queue": Row("collect.create", lambda w, a: _m("microdeposits").microdeposit_queue(w.svc, a)),
    "microdeposits.waiting_count": Row("collect.create", lambda w, a: _m("microdeposits").waiting_count(w.svc, a)),
    "microdeposits.stuck_count": Row("collect.create", lambda w, a: _m("microdeposits").stuck_count(w.svc, a)),
    "microdeposits.verify_microdeposits": Row("collect.create", lambda w, a: _m("microdeposits").verify_microdeposits(w.svc, a, SETI, amounts=[32, 45], **K), writes=True),
    "play_customer.simulate": Row("collect.simulate", _simulate, writes=True),
    "sync_intents.sync_intents": Row("intents.sync", lambda w, a: _m("sync_intents").sync_intents(w.svc, a), writes=True),
    # flows and conversion
    "edit_flows.save_flow": Row("flows.edit", lambda w, a: _m("edit_flows").save_flow(w.svc, a, "setup_intent", permissions=["payment_method"], prefetch=[], verification_method="automatic", expected_version=0), writes=True),
    "edit_flows.revert": Row("flows.edit", lambda w, a: _m("edit_flows").revert(w.svc, a, "setup_intent", to_version=1, expected_version=0), writes=True),
    "conversion_report.store_status": Row("conversion.view", lambda w, a: _m("conversion_report").store_status(w.svc, a)),
    "conversion_report.store_summary": Row("conversion.view", lambda w, a: _m("conversion_report").store_summary(w.svc, a)),
    "conversion_report.intents_version": Row("conversion.view", lambda w, a: _m("conversion_report").intents_version(w.svc, a)),
    "conversion_report.report": Row("conversion.view", lambda w, a: _m("conversion_report").report(w.svc, a, now=NOW, start=date(2026, 1, 1))),
    "conversion_report.figures_csv": Row("conversion.view", lambda w, a: _m("conversion_report").figures_csv(w.svc, a, "funnel", now=NOW), writes=True),
    "conversion_report.intents_csv": Row("conversion.view", lambda w, a: _m("conversion_report").intents_csv(w.svc, a, now=NOW), writes=True),
    # home
    "overview.overview": Row(ANYONE, lambda w, a: _m("overview").overview(w.svc, a)),
    "overview.cache_keys": Row(ANYONE, lambda w, a: _m("overview").cache_keys(w.svc, a)),
    "overview.account_figures": Row("accounts.view", lambda w, a: _m("overview").account_figures(w.svc, a)),
    "overview.returns_section": Row("accounts.view", lambda w, a: _m("overview").returns_section(w.svc, a)),
    "overview.manager_section": Row("conversion.view", lambda w, a: _m("overview").manager_section(w.svc, a)),
    "overview.overview_from_store": Row(ANYONE, lambda w, a: _m("overview").overview_from_store(w.svc.engine, a, now=NOW)),
    "overview.admin_overview": Row("audit.view", lambda w, a: _m("overview").admin_overview(w.svc.engine, a)),
    # audit, jobs, users
    "export_audit.browse": Row("audit.view", lambda w, a: _m("export_audit").browse(w.svc, a, _audit_filters(), limit=10)),
    "export_audit.entry": Row("audit.view", lambda w, a: _m("export_audit").entry(w.svc, a, 1)),
    "export_audit.actions": Row("audit.view", lambda w, a: _m("export_audit").actions(w.svc, a)),
    "export_audit.export": Row("audit.view", lambda w, a: _m("export_audit").export(w.svc, a, _audit_filters()), writes=True),
    "export_audit.export_csv": Row("audit.view", lambda w, a: _m("export_audit").export_csv(w.svc.engine, actor=a, filters=_audit_filters()), writes=True),
    "export_audit.iter_entries": Row("audit.view", lambda w, a: list(_m("export_audit").iter_entries(w.svc.engine, actor=a, filters=_audit_filters()))),
    "services.audit.query": Row("audit.view", lambda w, a: _audit().query(w.svc.engine, actor=a)),
    "jobs.start_account_sync": Row("accounts.sync", lambda w, a: _m("jobs").start_account_sync(a), writes=True),
    "jobs.start_intent_sync": Row("intents.sync", lambda w, a: _m("jobs").start_intent_sync(a), writes=True),
    "jobs_outcomes.start_outcome_sync": Row("returns.sync", lambda w, a: _m("jobs_outcomes").start_outcome_sync(a), writes=True),
    "jobs_daily.start_transaction_sync": Row("transactions.manage", lambda w, a: _m("jobs_daily").start_transaction_sync(a), writes=True),
    "jobs_daily.start_nightly_refresh": Row("balances.check", lambda w, a: _m("jobs_daily").start_nightly_refresh(a), writes=True),
    "jobs.start_ownership_check_all": Row("ownership.review", lambda w, a: _m("jobs").start_ownership_check_all(a), writes=True),
    "jobs.start_batch_check": Row("balances.check", lambda w, a: _m("jobs").start_batch_check(a, _planned(), refresh_stale=False), writes=True),
    "jobs_retry.retry_job": Row("jobs.view", lambda w, a: _m("jobs_retry").retry_job(a, FAILED_JOB), writes=True),
    "job_runs.job_of": Row(ANYONE, lambda w, a: _m("job_runs").job_of(a, "job-none")),
    "job_runs.running_job": Row(ANYONE, lambda w, a: _m("job_runs").running_job(a, "intents.sync")),
    "job_runs.failed_sync": Row("conversion.view", lambda w, a: _m("job_runs").failed_sync(a, "intents.sync", last_success=None)),
    "job_runs.queue_counts": Row("jobs.view", lambda w, a: _m("job_runs").queue_counts(a)),
    "jobs_retry.retried_as": Row(ANYONE, lambda w, a: _m("jobs_retry").retried_as(a, FAILED_JOB)),
    "jobs_retry.tried_again_listed": Row("jobs.view", lambda w, a: _m("jobs_retry").tried_again_listed(a, [])),
    "jobs_retry.tried_again_for": Row(ANYONE, lambda w, a: _m("jobs_retry").tried_again_for(a, f"{FAILED_JOB}-retry1")),
    "webhooks.status": Row(ANYONE, lambda w, a: _m("webhooks").status(a)),
    "webhooks.recent_events": Row("jobs.view", lambda w, a: _m("webhooks").recent_events(a)),
    "edit_flows.view": Row("flows.view", lambda w, a: _m("edit_flows").view(w.svc, a, "setup_intent")),
    "edit_flows.versions": Row("flows.view", lambda w, a: _m("edit_flows").versions(w.svc, a, "setup_intent")),
    "edit_flows.edit_conflict": Row("flows.edit", lambda w, a: _m("edit_flows").edit_conflict(w.svc, a, "setup_intent", 0)),
    "flow_drafts.keep_draft": Row("flows.edit", lambda w, a: _m("flow_drafts").keep_draft(w.svc, a, "setup_intent", base_version=0, start={}, value={})),
    "flow_drafts.my_drafts": Row("flows.edit", lambda w, a: _m("flow_drafts").my_drafts(w.svc, a)),
    "flow_drafts.discard_draft": Row("flows.edit", lambda w, a: _m("flow_drafts").discard_draft(w.svc, a, "setup_intent")),
    "policy_draft.keep_policy_draft": Row("policy.edit", lambda w, a: _m("policy_draft").keep_policy_draft(w.svc, a, base_version=0, start={}, value={})),
    "policy_draft.my_policy_draft": Row("policy.edit", lambda w, a: _m("policy_draft").my_policy_draft(w.svc, a)),
    "policy_draft.discard_policy_draft": Row("policy.edit", lambda w, a: _m("policy_draft").discard_policy_draft(w.svc, a)),
    "flow_drafts.resume_flow": Row("flows.edit", lambda w, a: _m("flow_drafts").resume_flow(w.svc, a)),
    "job_runs.recent_jobs": Row(ANYONE, lambda w, a: _m("job_runs").recent_jobs(a)),
    "sign_out.sign_out": Row(ANYONE, lambda w, a: _m("sign_out").sign_out(w.svc, a, "sid-access", expires_at=NOW + 60, now=lambda: NOW), writes=True),
    "job_runs.batch_result": Row("balances.check", lambda w, a: _m("job_runs").batch_result(a, "job-none")),
    "manage_users.people": Row("users.manage", lambda w, a: _m("manage_users").people(w.svc, a, w.users_file)),
    "manage_users.add_person": Row("users.manage", lambda w, a: _m("manage_users").add_person(w.svc, a, w.users_file, username="zed", role="ops", password="plum-orbit-canvas-42", idempotency_key="k"), writes=True),
    "manage_users.change_role": Row("users.manage", lambda w, a: _m("manage_users").change_role(w.svc, a, w.users_file, "nobody", "ops", idempotency_key="k"), writes=True),
    "manage_users.new_password": Row("users.manage", lambda w, a: _m("manage_users").new_password(w.svc, a, w.users_file, "nobody", "plum-orbit-canvas-42", idempotency_key="k"), writes=True),
    "manage_users.remove_person": Row("users.manage", lambda w, a: _m("manage_users").remove_person(w.svc, a, w.users_file, "nobody", idempotency_key="k"), writes=True),
    "manage_users.lift_delay": Row("users.manage", lambda w, a: _m("manage_users").lift_delay(w.svc, a, "nobody", idempotency_key="k"), writes=True),
    "manage_users.lift_address_delay": Row("users.manage", lambda w, a: _m("manage_users").lift_address_delay(w.svc, a, "10.0.0.9", idempotency_key="k"), writes=True),
    "manage_users.counted_addresses": Row("users.manage", lambda w, a: _m("manage_users").counted_addresses(w.svc, a)),
    "services.users.lockouts": Row("users.manage", lambda w, a: _users().lockouts(w.svc.engine, actor=a)),
    "services.users.unlock": Row("users.manage", lambda w, a: _users().unlock(w.svc.engine, actor=a, username="nobody"), writes=True),
}  # fmt: skip

# Public functions that take no actor, and why none is needed.
NO_ACTOR: dict[str, str] = {
    "balance_history.balance_history": "store read behind for_account (balances.check)",
    "browse_accounts.fetch_account": "Stripe read for use cases that checked the role first",
    "browse_accounts.stored_account": "store read for use cases that checked the role first (a failed Stripe read's fallback)",
    "browse_accounts.account_filters": "pure check of the filters, plus the policy's max age; its callers check the role",
    "check_debit.refresh_key": "pure: the idempotency key of a refresh",
    "check_debit.start_refresh": "step of check_debit/run_batch after their role check",
    "check_debit.is_pending": "pure rule on an account",
    "check_debit.policy_changed": "pure rule: another policy version than the one a check applied",
    "check_debit.balance_refresh_status": "pure read of an account's balance refresh",
    "check_review.describe": "pure wording",
    "collect_common.customer_id": "pure ID parsing",
    "jobs_retry.why_not_retried": "pure: why a job cannot be tried again (its status and kind)",
    "jobs_retry.tried_again_as": "pure: the retry of each failed job among the jobs given",
    "jobs_retry.failed_too": "pure: the sentence of a Try again whose line's newest job failed too",
    "jobs_daily.sync_summary": "pure: the transaction sync's result and sentence from its accounts' ends",
    "collect_common.clean_search": "pure search-term cleaning",
    "collect_common.send_settled": "Stripe call with read-back for calls that checked the role",
    "collect_common.with_people": "store read (names for rows) for calls that checked the role",
    "export_audit.sort_or_default": "pure whitelist of sort orders",
    "retry_picker.retryable_codes": "pure list of re-initiable return codes",
    "collect_common.intent_id": "pure ID parsing",
    "collect_common.require_key": "pure key check",
    "collect_common.unconfirmed": "error translation around calls that checked the role",
    "collect_common.raise_unknown": "error translation (Stripe's NotFound as a sentence) for calls that checked the role",
    "collect_common.replayed": "audit lookup for calls that checked the role",
    "collect_common.retrieve": "Stripe read for calls that checked the role",
    "collect_common.recent_intents": "Stripe read for calls that checked the role",
    "collect_common.stored_intents": "store read for calls that checked the role",
    "collect_common.count_stored_intents": "store read for calls that checked the role",
    "collect_common.pull_recent_intents": "store write for calls that checked the role",
    "collect_common.list_stored": "store read (and Stripe pull) for calls that checked the role",
    "collect_common.count_listed": "store count for calls that checked the role",
    "collect_common.listed_among": "store read for calls that checked the role",
    "collection_requests.fc_session_params": "pure request builder",
    "collect_lookup.attempt_id": "pure: an idempotency key's attempt id",
    "conversion_report.summarise": "store aggregate behind store_summary (conversion.view)",
    "conversion_report.store_info": "store read behind store_status (conversion.view)",
    "conversion_report.classify_missing": "start-up migration of stored intents",
    "conversion_report.conversion": "store aggregate behind report (conversion.view)",
    "conversion_report.conversions": "store aggregate behind report (conversion.view)",
    "conversion_report.stored_intents": "store count behind overview (accounts.sync)",
    "conversion_report.outcomes": "store aggregate behind report (conversion.view)",
    "debit_outcomes.record_payment_intent": "webhook/sync mirror write (Stripe is the actor)",
    "debit_outcomes.put_payment_intent": "mirror write inside a sync's transaction (Stripe is the actor)",
    "debit_outcomes.put_payment_intents": "bulk mirror write inside a sync's transaction (Stripe is the actor)",
    "debit_outcomes.record_event": "webhook mirror write (Stripe is the actor)",
    "debit_outcomes.load_outcomes": "store read behind returns_report (returns.view)",
    "debit_outcomes.load_behind": "store read behind returns_report.debits_behind (returns.view)",
    "debit_outcomes.count_behind": "store read behind returns_report.report/debits_behind (returns.view)",
    "debit_outcomes.window_debits": "pure SQL selection of a window's debits",
    "debit_outcomes.outcome_from_row": "pure: a stored row as an Outcome",
    "check_figures.figures": "store read behind check_review.review (returns.view; options: policy.edit)",
    "check_figures.verdicts": "store read behind check_review.review (returns.view)",
    "check_figures.options": "store read behind check_review.review (returns.view, policy.edit)",
    "check_figures.kept": "store read behind check_review.review (returns.view)",
    "check_rows.misses": "store read behind check_review.review (returns.view)",
    "check_buckets.held": "store read behind check_review.review (returns.view, policy.edit)",
    "check_rows.newest_misses": "store read behind check_review.review (returns.view)",
    "check_rows.read_misses": "store read behind check_review.review (returns.view)",
    "check_rows.miss_facts": "store read behind check_review.review (returns.view, policy.edit)",
    "check_rows.all_copied": "store probe behind check_figures (returns.view)",
    "check_rows.whole_days": "window arithmetic behind check_figures, check_buckets (returns.view)",
    "check_rows.outside_days": "query builder behind check_figures, check_buckets (returns.view)",
    "check_rows.joined_rows": "store read behind check_figures (returns.view)",
    "check_rows.paired_debits": "pure SQL selection behind check_figures",
    "check_rows.stored_lookback": "pure: whether a window reads the stored last check",
    "debit_outcomes.stored_rows": "store read behind sync_outcomes",
    "debit_outcomes.load_attempts": "store read behind retry_debit (debits.retry)",
    "debit_policy.load_policy": "the policy in force, for the checks that apply it",
    "debit_policy.load_policy_version": "one saved policy version, for a batch job that pinned it",
    "debit_policy.policy_history": "store read behind versions (balances.check)",
    "debit_policy.check_policy_bounds": "pure bounds rule",
    "edit_flows.setting_key": "pure key name",
    "edit_flows.load_flow": "flow config for collection requests; pages use view",
    "edit_flows.load_all": "flow configs for the home overview's versions",
    "edit_flows.history": "flow versions behind versions (flows.view)",
    "edit_flows.stale_edit": "concurrency hint behind edit_conflict (flows.edit)",
    "export_accounts.iter_accounts_csv": "the CSV writer behind export_accounts_csv",
    "export_audit.as_row": "pure row shaping",
    "job_runs.job": "one job row, for workflows and batch_result; pages use job_of",
    "jobs_accounts.customer_chunk_workflow": "DBOS workflow started by a role-checked job",
    "jobs_accounts.accounts_sync_workflow": "DBOS workflow; checks the starter's role itself",
    "jobs.intents_sync_workflow": "DBOS workflow; checks the starter's role itself",
    "jobs_outcomes.outcomes_sync_workflow": "DBOS workflow; sync_outcomes checks the starter's role",
    "jobs.ownership_check_all_workflow": "DBOS workflow; checks the starter's role itself",
    "jobs_batch.merge_results": "pure merge",
    "jobs.batch_check_workflow": "DBOS workflow; checks the starter's role itself",
    "collect_lists.links_made": "store read behind open_requests and uncancelable (role-checked there)",
    "jobs.safety_sync_workflow": "scheduled system job",
    "jobs.schedule_safety_sync": "start-up scheduling (system)",
    "jobs_daily.schedule_nightly_refresh": "start-up scheduling (system)",
    "jobs_daily.transactions_sync_workflow": "DBOS workflow; started by a role-checked job",
    "jobs_daily.accounts_chunk_workflow": "DBOS workflow started by a role-checked job",
    "jobs_daily.nightly_refresh_workflow": "DBOS workflow; scheduled (system) or role-checked start",
    "overview.ops_overview": "store read behind overview (its sections follow the role)",
    "overview.finance_overview": "store read behind overview (its sections follow the role)",
    "overview.manager_overview": "store read behind manager_section (conversion.view)",
    "overview.returns_glance": "store read behind overview (its sections follow the role)",
    "refresh_balance.require_idempotency_key": "pure key check",
    "refresh_balance.unconfirmed_words": "pure wording",
    "resolve_account.resolve": "Stripe resolution for lookups that checked the role",
    "resolve_account.debit_target": "Stripe resolution for checks that checked the role",
    "returns_report.valid_window": "pure bounds rule",
    "returns_report.debits_frame": "pure table shaping",
    "sign_in.sign_in": "the sign-in itself: nobody is signed in yet",
    "sign_in_sso.resolve": "the SSO sign-in itself: nobody is signed in yet",
    "sign_in_sso.record": "audits an SSO sign-in",
    "sign_out.has_ended": "the gate: whether a sign-in was logged out (every run, before anyone acts)",
    "sign_out.new_sign_in_id": "pure: a random id for a new sign-in",
    "sign_out.sign_in_id_of_token": "pure: the id of a cookie written before sign-ins had ids",
    "sync_accounts.sync_message": "pure wording",
    "sync_accounts.needs_walk": "pure rule on the cursor's age",
    "sync_accounts.mirror_chunk": "mirror write of a chunk inside the full-walk job (role-checked at its start)",
    "sync_accounts.reread": "Stripe reads for the replay and the webhook step (role-checked at their start)",
    "sync_intents.record_values": "pure row shaping",
    "sync_intents.store_intent": "webhook/sync mirror write (Stripe is the actor)",
    "sync_intents.store_page": "sync mirror write of a page Stripe listed (Stripe is the actor)",
    "view_transactions.insight": "pure-ish analysis of stored transactions for account_insight",
    "webhooks.receive": "Stripe's webhook: the signature is the check",
    "webhooks.process_event_workflow": "DBOS workflow for a verified event",
}

# Functions that take an actor but are not entry points with a permission of their own.
ACTOR_HELPERS: dict[str, str] = {
    "services.audit.record": "writes the audit row for an actor",
    "services.audit.audited": "wraps an action in its audit row",
    "browse_accounts.refresh_blocker": "pure rule; the actor only words the reason",
    "view_transactions.status_of": "store read behind transaction_status; actor words the reason",
    "collection_requests.setup_intent_params": "pure request builder; actor goes in metadata",
    "collection_requests.checkout_params": "pure request builder; actor goes in metadata",
    "collect_lookup.told_after_lookup": "words a failed create after made_by_attempt (which checks the role) looked for it",
    "collect_lookup.unconfirmed_note": "pure: the words of a create's audit row Stripe did not confirm",
    "collect_open.recorded_create": "records a create (and its open-requests rule) for calls that checked the role",
    "collect_cancel_runs.recorded_cancel": "records a cancel while it runs, for cancel_request that checked the role",
    "returns_report.people_for": "store read behind report/review; the actor decides names or none",
}


def public_service_functions() -> dict[str, inspect.Signature]:
    found: dict[str, inspect.Signature] = {}
    for info in pkgutil.iter_modules(usecases_pkg.__path__):
        module = importlib.import_module(f"services.usecases.{info.name}")
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(obj):
                continue
            if obj.__module__ == module.__name__:
                found[f"{info.name}.{name}"] = inspect.signature(obj)
    for dotted in ("services.audit", "services.users"):
        module = importlib.import_module(dotted)
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(obj):
                continue
            if obj.__module__ == dotted and "actor" in inspect.signature(obj).parameters:
                found[f"{dotted}.{name}"] = inspect.signature(obj)
    return found


def test_the_table_names_every_public_service_function() -> None:
    found = public_service_functions()
    listed = set(TABLE) | set(NO_ACTOR) | set(ACTOR_HELPERS)
    missing = sorted(set(found) - listed)
    assert not missing, f"public service functions without a row in the access table: {missing}"
    gone = sorted(listed - set(found))
    assert not gone, f"rows for functions that no longer exist: {gone}"
    takes_actor = sorted(n for n in NO_ACTOR if "actor" in found[n].parameters)
    assert not takes_actor, f"these take an actor, so they belong in TABLE: {takes_actor}"
    for name in TABLE:
        assert "actor" in found[name].parameters, f"{name} takes no actor"
    for row in TABLE.values():
        assert row.permission == ANYONE or row.permission in PERMISSIONS


# --------------------------------------------------------------------------- the store


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    import services.adapters.jobs  # noqa: F401  (registers the job tables before the store opens)
    from services.adapters.store import open_store

    if request.param == "sqlite":
        eng = open_store(f"sqlite:///{tmp_path_factory.mktemp('access') / 'store.db'}")
        yield eng
        eng.dispose()
        return
    require_postgres()
    import psycopg

    schema = f"t_{secrets.token_hex(6)}"
    plain = PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    eng = open_store(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    yield eng
    eng.dispose()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def world(store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    from services.adapters import jobs as job_engine

    svc = Services(gateway=StubGateway(), engine=store, mode="sandbox", now=lambda: NOW)  # type: ignore[arg-type]
    monkeypatch.setattr(job_engine, "_bound", svc)
    # An allowed start queues on a queue this world holds: the table judges role checks, and a real
    # job (when an earlier module launched the engine) would write its audit row and its job rows
    # while the next role's refusal is being counted.
    monkeypatch.setattr(DBOS, "retrieve_queue", staticmethod(lambda name: HeldQueue()))
    if job_engine.create_job(
        store, FAILED_JOB, kind="intents.sync", label="Intent sync", actor="admin", role="admin",
        params={"full": False, "window": 1, "data": 0},
    ):
        job_engine.update_job(store, FAILED_JOB, status="failed", error="Stripe had a problem.")
    return World(svc=svc, users_file=tmp_path / "users.yaml", stripe_steps=[])


class HeldQueue:
    """Stands in for a DBOS queue: takes what an allowed start queues and runs nothing."""

    def enqueue(self, workflow: Callable[..., Any], *args: Any) -> None:
        return None


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for name, table in SQLModel.metadata.tables.items()
        }


def refused_audit_rows(engine: Engine, since: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("select outcome, actor from audit_log where id > :since order by id"),
            {"since": since},
        ).all()
    return [(str(r[0]), str(r[1])) for r in rows]


def last_audit_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select coalesce(max(id), 0) from audit_log")).scalar_one())


ACTORS: dict[str, Actor | None] = {"no actor": None} | {
    role: Actor(username=f"table-{role}", role=role, name=f"Table {role}") for role in ROLES
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_role_and_no_actor(name: str, world: World) -> None:
    row = TABLE[name]
    problems: list[str] = []
    for who, actor in ACTORS.items():
        engine, gateway = world.svc.engine, world.svc.gateway
        assert isinstance(gateway, StubGateway)
        gateway.calls.clear()
        world.stripe_steps.clear()
        refused = actor is None or actor.role not in row.allowed()
        before, since = row_counts(engine), last_audit_id(engine)
        try:
            row.call(world, actor)
            error: BaseException | None = None
        except Exception as err:  # judged below: which error, and for whom
            error = err
        if not refused:
            if isinstance(error, Forbidden):
                problems.append(f"{who}: refused although allowed ({error})")
            continue
        if not isinstance(error, Forbidden):
            kind = "no error" if error is None else f"{error.__class__.__name__}: {error}"
            problems.append(f"{who}: not refused with Forbidden ({kind})")
            continue
        assert isinstance(error, FcopsError) and str(error)
        if gateway.calls or world.stripe_steps:
            problems.append(f"{who}: Stripe was called before the refusal {gateway.calls}")
        after = row_counts(engine)
        audit_rows = refused_audit_rows(engine, since)
        changed = {
            t: (before[t], after[t]) for t in after if t != "audit_log" and after[t] != before[t]
        }
        if changed:
            problems.append(f"{who}: the refusal changed the store {changed}")
        want = 1 if row.writes else 0
        if len(audit_rows) != want or any(outcome != "refused" for outcome, _ in audit_rows):
            problems.append(f"{who}: {want} refused audit row(s) expected, found {audit_rows}")
    assert not problems, f"{name} ({row.permission}):\n" + "\n".join(problems)
