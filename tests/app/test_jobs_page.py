"""The admin Jobs page: start a job, see it in the list with its progress, and the webhook
figures; other roles cannot open it."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from tests.app.conftest import PAGE_WIDTH, no_exceptions, open_page, refused, texts

PAGE = "pages/jobs.py"


def test_admin_starts_a_sync_and_sees_it_finish_in_the_list() -> None:
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    assert "Jobs" in [t.value for t in at.title], texts(at)
    assert any(m.label == "Event backlog" for m in at.metric)
    at.button(key="jobs_sync").click().run()
    no_exceptions(at)
    said = [*(s.value for s in at.success), *(i.value for i in at.info)]
    assert any(s.startswith("Account sync ") for s in said), said
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        at.run()
        frame = at.dataframe[0].value
        row = frame[frame["Job"] == "Account sync"].iloc[0]
        if row["Status"] == "Finished":
            assert pd.api.types.is_datetime64_any_dtype(frame["Finished"])
            break
        time.sleep(0.5)
    else:
        raise AssertionError(texts(at))
    assert row["Started by"] == "admin"


@pytest.mark.parametrize("role", ["ops", "finance", "manager"])
def test_only_admins_open_the_jobs_page(role: str) -> None:
    direct = refused(PAGE, role)
    assert not direct.button


def test_admin_starts_the_transaction_sync_of_every_subscribed_account() -> None:
    from tests.app.conftest import jobs_settled

    jobs_settled(open_page("pages/accounts.py", "admin"))  # the mirror: who is subscribed
    at = open_page(PAGE, "admin")
    at.button(key="jobs_txns").click().run()
    no_exceptions(at)
    [job_id] = [c.value.split("`")[1] for c in at.caption if c.value.startswith("Job ID `")]
    assert job_id.startswith("transactions.sync-")
    jobs_settled(at)
    frame = at.dataframe[0].value
    row = frame[frame["ID"] == job_id].iloc[0]
    assert row["Status"] == "Finished", row.to_dict()
    assert row["Job"] == "Transaction sync (all subscribed accounts)"
    assert re.match(r"Synced the transactions of \d+ of [1-9][\d,]* subscribed", row["Message"]), (
        row["Message"]
    )


def test_the_last_webhook_tile_shows_its_age_and_the_full_time_in_its_help() -> None:
    """The tile showed '2026-12-…': a full date and time does not fit a metric."""
    from datetime import timedelta

    from services.adapters.job_models import WebhookEventRecord
    from services.adapters.models import utcnow
    from services.adapters.store import session_scope
    from tests.app.conftest import shared_app

    open_page(None, None)  # builds the app
    with session_scope(shared_app().engine) as session:
        session.add(WebhookEventRecord(
            id=f"evt_tile{int(time.time() * 1000)}", type="customer.updated", created=0,
            status="processed", received_at=utcnow() - timedelta(seconds=1),
        ))
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    tile = next(m for m in at.metric if m.label == "Last webhook")
    assert re.fullmatch(r"\d+ (s|min) ago", str(tile.value)), tile.value
    assert re.search(r"Received \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", tile.help or ""), tile.help


def test_the_note_of_a_job_started_here_names_it_and_follows_its_state() -> None:
    """The page said "Queued `ownership.check_all-0d98…`" long after the job had finished."""
    from tests.app.conftest import jobs_settled

    at = open_page(PAGE, "admin")
    at.button(key="jobs_owners").click().run()
    no_exceptions(at)
    said = [*(s.value for s in at.success), *(i.value for i in at.info)]
    assert any(s.startswith("Ownership check of all accounts") for s in said), said
    assert not any("ownership.check_all-" in s for s in said)  # the ID is beside, not the name
    [job_id] = [c.value.split("`")[1] for c in at.caption if c.value.startswith("Job ID `")]
    jobs_settled(at)
    at.run()
    no_exceptions(at)
    assert not any("queued" in s.value.lower() for s in at.success)
    assert not any("queued" in i.value.lower() for i in at.info)
    ended = [s.value for s in at.success] + [e.value for e in at.error]
    assert any(
        s.startswith("Ownership check of all accounts finished")
        or s.startswith("Ownership check of all accounts failed")
        for s in ended
    ), ended
    frame = at.dataframe[0].value
    assert frame[frame["ID"] == job_id].iloc[0]["Status"] in ("Finished", "Failed")


def _failed_intent_sync(tag: str) -> str:
    """A failed intent sync in the store, as the list shows one after Stripe kept failing."""
    from services.adapters import jobs as engine
    from services.adapters.models import utcnow
    from tests.app.conftest import shared_app

    job_id = f"intents.sync-apptest{tag}{time.time_ns()}"
    engine.create_job(
        shared_app().engine, job_id, kind="intents.sync", label="Intent sync", actor="admin",
        role="admin", params={"full": False, "window": time.time_ns() % 10**9, "data": 0},
    )
    engine.update_job(
        shared_app().engine, job_id, status="failed", finished_at=utcnow(),
        error="Stripe had a temporary problem (HTTP 500). Try again in a minute.",
    )
    return job_id


def test_a_failed_job_started_here_is_tried_again_from_its_note() -> None:
    """The note said the sync failed and offered nothing: "Try again" starts it again (the
    same inputs, ID ``…-retry1``) and the note follows the new run."""
    from tests.app.conftest import jobs_settled

    failed = _failed_intent_sync("note")
    at = open_page(PAGE, "admin", state={"jobs_started": failed})
    no_exceptions(at)
    assert any(e.value.startswith("Intent sync failed") for e in at.error), texts(at)
    at.button(key="jobs_note_retry").click().run()
    no_exceptions(at)
    [job_id] = [c.value.split("`")[1] for c in at.caption if c.value.startswith("Job ID `")]
    assert job_id == f"{failed}-retry1"
    jobs_settled(at)
    frame = at.dataframe[0].value
    assert frame[frame["ID"] == job_id].iloc[0]["Status"] == "Finished"
    assert frame[frame["ID"] == failed].iloc[0]["Status"] == "Failed"  # still on record
    at.segmented_control(key="jobs_filter").set_value("tried_again").run()
    assert job_id in set(at.dataframe[0].value["ID"]), texts(at)


def test_any_failed_job_in_the_list_is_tried_again_from_the_picker() -> None:
    from tests.app.conftest import jobs_settled

    failed = _failed_intent_sync("picker")
    at = open_page(PAGE, "admin")
    no_exceptions(at)
    picker = at.selectbox(key="jobs_retry_pick")
    picker.set_value(failed).run()
    assert any(c.value.startswith("Why it failed: Stripe had") for c in at.caption), texts(at)
    at.button(key="jobs_retry").click().run()
    no_exceptions(at)
    [job_id] = [c.value.split("`")[1] for c in at.caption if c.value.startswith("Job ID `")]
    assert job_id == f"{failed}-retry1"
    jobs_settled(at)
    offered = [s.value for s in at.selectbox if s.key == "jobs_retry_pick"]
    assert failed not in offered  # the retry went through: the failed job is no longer offered


def failed_tile(at: object) -> int:
    return int(next(m.value for m in at.metric if m.label == "Failed"))  # type: ignore[attr-defined]


def jobs_listed(at: object) -> set[str]:
    """The IDs in the jobs table (none when no job matches the filter)."""
    tables = [t.value for t in at.dataframe if "Job" in t.value.columns]  # type: ignore[attr-defined]
    return set(tables[0]["ID"]) if tables else set()


def test_a_failed_job_whose_retry_went_through_reads_as_handled() -> None:
    """After a failed job was tried again and its retry went through, the Failed tile still said
    "Failed 1" as if someone had to act. The failed run stays listed, its row says what became
    of the retry, the tile and the Failed filter leave it out, "Tried again" lists it."""
    from tests.app.conftest import jobs_settled

    jobs_settled()
    at = open_page(PAGE, "admin")
    before = failed_tile(at)
    failed = _failed_intent_sync("handled")
    at.run()
    assert failed_tile(at) == before + 1
    at.selectbox(key="jobs_retry_pick").set_value(failed).run()
    at.button(key="jobs_retry").click().run()
    no_exceptions(at)
    jobs_settled(at)
    retry = f"{failed}-retry1"
    frame = at.dataframe[0].value
    assert frame[frame["ID"] == retry].iloc[0]["Status"] == "Finished"
    row = frame[frame["ID"] == failed].iloc[0]
    assert row["Status"] == "Failed"  # the run that failed stays on record
    assert row["Message"].startswith(
        f"Tried again: finished ({retry}) · this run failed: Stripe had a temporary problem"
    ), row["Message"]
    assert failed_tile(at) == before
    at.segmented_control(key="jobs_filter").set_value("failed").run()
    assert failed not in jobs_listed(at)
    at.segmented_control(key="jobs_filter").set_value("tried_again").run()
    assert {failed, retry} <= jobs_listed(at)


def test_the_note_of_a_running_job_ends_an_ellipsis_with_no_extra_dot() -> None:
    """"Account sync is running. Reading changes from Stripe…." had four dots."""
    from services.adapters import jobs as engine
    from tests.app.conftest import shared_app

    job_id = f"accounts.sync-apptestdots{time.time_ns()}"
    engine.create_job(
        shared_app().engine, job_id, kind="accounts.sync", label="Account sync", actor="admin",
        role="admin", params={"scheduled": True},
    )
    engine.update_job(
        shared_app().engine, job_id, status="running", message="Reading changes from Stripe…"
    )
    try:
        at = open_page(PAGE, "admin", state={"jobs_started": job_id})
        said = [i.value for i in at.info]
        assert "Account sync is running. Reading changes from Stripe…" in said, said
    finally:
        engine.update_job(shared_app().engine, job_id, status="failed", error="Test row.")


def test_the_jobs_table_fits_the_page_with_the_id_last() -> None:
    """At 1,400 px the Message column (width "large") pushed Finished, Runs and the ID off the
    page: every column now has a width, together less than the page beside the sidebar."""
    from tests.app.conftest import column_config

    _failed_intent_sync("widths")  # at least one row
    at = open_page(PAGE, "admin")
    table = at.dataframe[0]
    config = column_config(table)
    widths = {name: c.get("width") for name, c in config.items()}
    shown = [n for n in table.proto.column_order]
    assert all(isinstance(widths.get(n), int) for n in shown), widths
    assert sum(widths[n] for n in shown) <= PAGE_WIDTH, widths  # measured in Chromium
    assert list(table.proto.column_order)[-1] == "ID"


def test_the_failed_tile_says_when_it_counts_failures_the_table_does_not_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Failed tile counts the whole store, the table the newest 200 jobs: with older failures
    than those listed, the tile read "Failed 3" over a table and a picker holding one. A line
    under the table says how many there are in all and how many are listed."""
    from services.usecases import jobs

    _failed_intent_sync("older")
    newest = _failed_intent_sync("newest")
    listed = jobs.recent_jobs

    def newest_only(*args: object, **kwargs: object) -> list[jobs.JobView]:
        return [j for j in listed(*args, **kwargs) if j.id == newest]  # type: ignore[arg-type]

    at = open_page(PAGE, "admin")
    assert not any("in all need" in c.value for c in at.caption), texts(at)  # all listed
    monkeypatch.setattr(jobs, "recent_jobs", newest_only)  # as if the older ones were past 200
    at.run()
    tile = failed_tile(at)
    said = f"{tile:,} failed jobs in all need someone; the table shows the newest 200 jobs, with 1"
    assert any(c.value.startswith(said) for c in at.caption), texts(at)
    help_text = next(m.help for m in at.metric if m.label == "Failed")
    assert "in all (the table lists the newest 200)" in help_text


def test_the_id_cell_is_the_whole_id_so_the_tables_search_finds_a_pasted_one() -> None:
    """The cell drew the ID without its kind ("2bc3…-29943122"): the table's search box, which
    matches the text a cell draws, found nothing for "intents.sync-2bc3…" pasted from a job's
    note or Audit log's target, and a copied cell lacked the kind. The cell is the whole ID,
    drawn from its right edge: the end that tells one run from another reads in the 212 px
    column (an ID measured 6.75 px a character in Chromium, 16 px of padding), its start being
    the kind the Job column names."""
    from services.adapters import jobs as engine
    from tests.app.conftest import column_config, drawn_cells, shared_app

    window = time.time_ns() // 60_000_000_000  # as a started job's: the minute
    job_id = f"{engine.workflow_id('intents.sync', {'full': False, 'tag': time.time_ns()})}-{window}"
    engine.create_job(
        shared_app().engine, job_id, kind="intents.sync", label="Intent sync", actor="admin",
        role="admin", params={"full": False, "window": window},
    )
    engine.update_job(shared_app().engine, job_id, status="failed", error="Test row.")
    at = open_page(PAGE, "admin")
    table = at.dataframe[0]
    row = list(table.value["ID"]).index(job_id)
    assert str(drawn_cells(table)["ID"].iloc[row]) == job_id
    config = column_config(table)["ID"]
    assert config.get("alignment") == "right", config
    end = job_id.removeprefix("intents.sync-")  # the digest and the window
    assert config["width"] >= 6.75 * len(end) + 16, (config, end)


def test_a_failure_taken_over_by_a_sync_past_the_listed_jobs_links_to_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed sync tried again while a sync of its kind ran names that one (``retried_as``);
    when the running sync was older than the newest 200 jobs the table lists, the failed row
    read unlinked, the picker offered it again and the Failed filter listed it, though the tile
    no longer counted it. The row now says what became of the sync that took it over."""
    from services.adapters import jobs as engine
    from services.usecases import jobs
    from tests.app.conftest import shared_app

    running = f"intents.sync-apptestpast{time.time_ns()}"
    engine.create_job(
        shared_app().engine, running, kind="intents.sync", label="Intent sync", actor="admin",
        role="admin", params={"full": False, "window": 1, "data": 0},
    )
    engine.update_job(shared_app().engine, running, status="running", message="Test row.")
    try:
        failed = _failed_intent_sync("takenpast")
        engine.mark_retried(shared_app().engine, failed, running)  # as retry_job does then
        listed = jobs.recent_jobs

        def past_the_list(*args: object, **kwargs: object) -> list[jobs.JobView]:
            return [j for j in listed(*args, **kwargs) if j.id != running]  # type: ignore[arg-type]

        monkeypatch.setattr(jobs, "recent_jobs", past_the_list)  # as if it were past 200
        at = open_page(PAGE, "admin")
        no_exceptions(at)
        assert running not in jobs_listed(at)
        frame = at.dataframe[0].value
        row = frame[frame["ID"] == failed].iloc[0]
        assert row["Message"].startswith(f"Tried again: running ({running}) · this run failed"), (
            row["Message"]
        )
        offered = [o for s in at.selectbox if s.key == "jobs_retry_pick" for o in s.options]
        assert not any(failed in o for o in offered), offered
        at.segmented_control(key="jobs_filter").set_value("failed").run()
        assert failed not in jobs_listed(at)
        at.segmented_control(key="jobs_filter").set_value("tried_again").run()
        assert failed in jobs_listed(at)
    finally:
        engine.update_job(shared_app().engine, running, status="failed", error="Test row.")


def test_the_progress_column_writes_its_percent_as_the_other_pages_do() -> None:
    """A 0–1 bar was written by Streamlit's own percent format, "100%"; fcops writes a share
    "100 %" (wording.percent): the column holds whole percent and its format says so. Rows
    written to the store (a sync started here would depend on what earlier tests left running
    in the shared app: CI54 saw this test fail that way)."""
    from services.adapters import jobs as engine
    from services.adapters.models import utcnow
    from tests.app.conftest import column_config, shared_app

    tag = time.time_ns()
    finished, running = f"intents.sync-apptestpct{tag}", f"intents.sync-apptestpctrun{tag}"
    for job_id, window in ((finished, 1), (running, 2)):
        engine.create_job(
            shared_app().engine, job_id, kind="intents.sync", label="Intent sync", actor="admin",
            role="admin", params={"full": False, "window": tag % 10**9 + window, "data": 0},
        )
    engine.update_job(shared_app().engine, finished, status="succeeded", finished_at=utcnow(),
                      done=3, total=4)
    engine.update_job(shared_app().engine, running, status="running", done=1, total=4,
                      message="Test row.")
    try:
        at = open_page(PAGE, "admin")
        no_exceptions(at)
        frame = at.dataframe[0].value
        progress_of = dict(zip(frame["ID"], frame["Progress"], strict=True))
        assert progress_of[finished] == 100  # a finished job is whole, whatever it counted
        assert progress_of[running] == 25
        progress = column_config(at.dataframe[0])["Progress"]["type_config"]
        assert (progress["min_value"], progress["max_value"]) == (0, 100)
        assert progress["format"] == "%d %%"
    finally:
        engine.update_job(shared_app().engine, running, status="failed", finished_at=utcnow(),
                          error="Test row.")


def test_the_note_of_a_failed_job_another_admin_tried_again_follows_the_retry() -> None:
    """One admin's note still said the job failed, with Try again, after another admin had
    tried it again from the picker: a second click started the same work once more. The note
    follows the retry instead, and says who tried it again."""
    from tests.app.conftest import jobs_settled

    failed = _failed_intent_sync("other")
    mine = open_page(PAGE, "admin", state={"jobs_started": failed})
    assert mine.button(key="jobs_note_retry")  # offered: nobody tried it again yet
    other = open_page(PAGE, "admin")
    other.selectbox(key="jobs_retry_pick").set_value(failed).run()
    other.button(key="jobs_retry").click().run()
    no_exceptions(other)
    jobs_settled(other)
    mine.run()
    no_exceptions(mine)
    assert not any(b.key == "jobs_note_retry" for b in mine.button)
    assert any(s.value.startswith("Intent sync finished") for s in mine.success), texts(mine)
    assert any(f"`{failed}-retry1`" in c.value for c in mine.caption), texts(mine)
    assert any("tried it again" in c.value for c in mine.caption), texts(mine)


def test_the_list_shown_is_kept_in_the_address_for_a_reload_or_a_new_tab() -> None:
    """A reload (or a link, a new tab) of the Failed list showed every job again."""
    at = open_page(PAGE, "admin")
    at.segmented_control(key="jobs_filter").set_value("failed").run()
    no_exceptions(at)
    assert at.query_params["show"] == ["failed"] or at.query_params["show"] == "failed"
    again = open_page(PAGE, "admin")  # the reload: a new session at that address
    again.query_params["show"] = "failed"
    again.run()
    no_exceptions(again)
    assert again.segmented_control(key="jobs_filter").value == "failed"
    odd = open_page(PAGE, "admin")
    odd.query_params["show"] = "[x](https://example.invalid)"
    odd.run()
    no_exceptions(odd)
    assert odd.segmented_control(key="jobs_filter").value == "all"
    assert any("does not know" in str(w.value) for w in odd.warning), texts(odd)


def test_a_try_again_drawn_before_another_admins_retry_failed_too_tries_that_one_again() -> None:
    """One admin's picker still offered the first failure after another admin's retry of it
    had failed too; pressing Try again then queued a second retry of the first failure, and left
    the newest failure offered. The newest failure is tried again, and the page says so."""
    from services.adapters import jobs as engine
    from services.adapters.models import utcnow
    from tests.app.conftest import jobs_settled, shared_app

    failed = _failed_intent_sync("stale")
    at = open_page(PAGE, "admin")
    at.selectbox(key="jobs_retry_pick").set_value(failed).run()
    retry = f"{failed}-retry1"  # another admin's Try again, which failed too
    engine.create_job(
        shared_app().engine, retry, kind="intents.sync", label="Intent sync", actor="admin2",
        role="admin", params={"full": False, "window": 1, "data": 0, "retry_of": failed},
        retry_of=failed,
    )
    engine.update_job(shared_app().engine, retry, status="failed", finished_at=utcnow(),
                      error="Stripe had a temporary problem (HTTP 500).")  # fmt: skip
    at.button(key="jobs_retry").click().run()  # drawn before that retry
    no_exceptions(at)
    [job_id] = [c.value.split("`")[1] for c in at.caption if c.value.startswith("Job ID `")]
    assert job_id == f"{failed}-retry2"
    said = f"was tried again as job {retry}, which failed too; trying {retry} again as job {job_id}."
    assert any(said in c.value for c in at.caption), texts(at)
    jobs_settled(at)
    frame = at.dataframe[0].value
    for older in (failed, retry):  # neither is offered again; each names the newest job
        assert frame[frame["ID"] == older].iloc[0]["Message"].startswith(
            f"Tried again: finished ({job_id})"
        ), frame[frame["ID"] == older].iloc[0]["Message"]
    offered = [o for s in at.selectbox if s.key == "jobs_retry_pick" for o in s.options]
    assert not any(failed in o for o in offered), offered


def test_the_picked_failed_job_is_kept_in_the_address_for_a_reload_or_a_link() -> None:
    """``?job=<id>`` was ignored: a reload, or a colleague given the link, got the newest
    failure in the picker instead of the one picked."""
    older = _failed_intent_sync("linkolder")
    _failed_intent_sync("linknewer")
    at = open_page(PAGE, "admin")
    assert at.selectbox(key="jobs_retry_pick").value != older  # the newest first
    at.selectbox(key="jobs_retry_pick").set_value(older).run()
    no_exceptions(at)
    assert at.query_params["job"] in (older, [older])
    again = open_page(PAGE, "admin")  # the reload: a new session at that address
    again.query_params["job"] = older
    again.run()
    no_exceptions(again)
    assert again.selectbox(key="jobs_retry_pick").value == older, texts(again)
    again.run()  # the board's next run keeps it
    assert again.selectbox(key="jobs_retry_pick").value == older, texts(again)
    assert not again.warning, texts(again)


@pytest.mark.parametrize("linked", ["intents.sync-nosuchjob", "[x](https://example.invalid)"])
def test_a_link_to_a_job_the_picker_does_not_offer_says_so_and_changes_nothing(
    linked: str,
) -> None:
    _failed_intent_sync("linkbad")
    plain = open_page(PAGE, "admin")
    at = open_page(PAGE, "admin")
    at.query_params["job"] = linked
    at.query_params["show"] = "failed"
    at.run()
    no_exceptions(at)
    said = [str(w.value) for w in at.warning]
    assert any(s.startswith("No job `") and "in the list of failed jobs" in s for s in said), said
    assert at.selectbox(key="jobs_retry_pick").value == plain.selectbox(key="jobs_retry_pick").value
    assert at.segmented_control(key="jobs_filter").value == "failed"
    assert "example.invalid)" not in " ".join(m.value for m in at.markdown)
