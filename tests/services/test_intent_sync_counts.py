"""The intent sync writes its counts as the rest of the app does, with thousands separators:
the Conversion page's progress line said "1700 intents read" beside cards saying "3,032"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bootstrap import SANDBOX_KEY
from sandbox.server import start_background
from services.adapters.gateway import StripeGateway
from services.context import Services
from services.usecases import sync_intents


@pytest.fixture(scope="module")
def thousand_intents() -> Iterator[Any]:
    """A sandbox of this module's own, big enough to hold more than a thousand intents."""
    handle = start_background(port=0, seed=8, customers=500, refresh_delay=0)
    yield handle
    handle.stop()


def test_the_progress_and_the_summary_write_thousands_with_separators(
    thousand_intents: Any, engine: Any, manager: Any
) -> None:
    gateway = StripeGateway(SANDBOX_KEY, base_url=thousand_intents.base_url, max_network_retries=0)
    svc = Services(gateway=gateway, engine=engine, mode="sandbox", now=thousand_intents.state.now)
    said: list[str] = []
    result = sync_intents.sync_intents(svc, manager, progress=lambda _d, _t, text: said.append(text))
    assert result.fetched >= 1_000
    read = [text for text in said if text.endswith(" intents read")]
    big = [text for text in read if int(text.split()[0].replace(",", "")) >= 1_000]
    assert big and all(re.fullmatch(r"\d{1,3}(,\d{3})+ intents read", text) for text in big), big
    assert said[-1].startswith(f"Read {result.fetched:,} intents ("), said[-1]
