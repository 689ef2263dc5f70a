"""A page following no sync reruns its progress lines' fragment every ``IDLE_SECONDS`` (a look
for a sync started elsewhere), not every second: Collect's two lines each reran every second
with a store query the whole time the page stayed open, though nothing ran. The every-second
line while a sync runs is the other tests' (tests/app/test_pages_follow_jobs.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

from pages._follow import IDLE_SECONDS
from tests.app.conftest import jobs_settled, no_exceptions, open_page
from tests.app.test_collect_page import PAGE


@pytest.fixture
def intervals() -> Iterator[list[float]]:
    """The rerun interval of every fragment with ``run_every`` the pages draw meanwhile."""
    seen: list[float] = []

    def record(msg: ForwardMsg) -> None:
        if msg.WhichOneof("type") == "auto_rerun":
            seen.append(msg.auto_rerun.interval)

    ForwardMsgQueue.on_before_enqueue_msg(record)
    yield seen
    ForwardMsgQueue.on_before_enqueue_msg(None)


def test_collect_with_no_sync_running_reruns_nothing_every_second(intervals: list[float]) -> None:
    at = open_page(PAGE, "ops")  # a first visit's syncs start (and end)
    jobs_settled()
    at.run()  # the page notices its syncs ended (in a browser, their lines' next run does)
    intervals.clear()
    at.run()
    no_exceptions(at)
    assert len(intervals) == 2, intervals  # the customers' and the requests' progress lines
    assert min(intervals) >= IDLE_SECONDS > 1, intervals
