"""A manager clicks two CSV downloads of the conversion page in quick succession: both files
arrive, each with its own header. Before, the first click reran the page, the rerun gave every
download button a new file id and dropped the old ones, and the second download (clicked before
the browser had the new ids) failed with MediaFileStorageError in the server log.

The race depends on timing, so the pair is clicked a few times with different gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import sign_in, wait_idle

pytestmark = pytest.mark.browser

FUNNEL = ("Funnel by method (CSV)", "verification_method,started,")
WEEKLY = ("By week and method (CSV)", "week,verification_method,started,")
GAPS_MS = (0, 150, 400, 700)  # the second click before, during and after the first's rerun


def test_two_quick_downloads_both_arrive_with_their_own_header(app_url: str, page: Any) -> None:
    sign_in(page, f"{app_url}/conversion", "manager", "fcops-manager-demo")
    page.get_by_role("button", name=WEEKLY[0]).wait_for(timeout=60_000)  # after the first sync
    wait_idle(page)
    arrived: list[Any] = []
    page.on("download", lambda download: arrived.append(download))
    for gap in GAPS_MS:
        arrived.clear()
        page.get_by_role("button", name=FUNNEL[0]).click()
        page.wait_for_timeout(gap)
        page.get_by_role("button", name=WEEKLY[0]).click()
        for _ in range(50):  # up to 10 s for both
            if len(arrived) == 2:
                break
            page.wait_for_timeout(200)
        assert len(arrived) == 2, f"{len(arrived)} of 2 downloads arrived ({gap} ms apart)"
        headers = {}
        for download in arrived:
            assert download.failure() is None, download.failure()
            headers[download.suggested_filename.split("-2")[0]] = (
                Path(download.path()).read_text().splitlines()[0]
            )
        assert headers["conversion-by-method"].startswith(FUNNEL[1])
        assert headers["conversion-by-week"].startswith(WEEKLY[1])
