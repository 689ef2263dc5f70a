"""A full walk's chunks fetch their account lists on one kept pool per process (so the SDK's
per-thread keep-alive connections are reused from chunk to chunk), never more at once than asked."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlmodel import select

from services.adapters.models import AccountRecord
from services.adapters.store import session_scope
from services.context import Services
from services.usecases import sync_accounts
from tests.services.test_accounts import make_customer


class Watched:
    """The real gateway, noting which thread made each account-list call and how many ran at once."""

    def __init__(self, gateway: Any) -> None:
        self._gateway = gateway
        self.threads: list[int] = []
        self.running = self.most = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def list_accounts(self, **kwargs: Any) -> list[dict[str, Any]]:
        with self._lock:
            self.threads.append(threading.get_ident())
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            time.sleep(0.01)  # long enough for the pool's threads to overlap
            result: list[dict[str, Any]] = self._gateway.list_accounts(**kwargs)
            return result
        finally:
            with self._lock:
                self.running -= 1


def test_chunks_share_one_kept_pool_of_the_size_asked(gateway, simulator, engine) -> None:
    made = [make_customer(gateway, simulator, accounts=n % 3) for n in range(8)]
    watched = Watched(gateway)
    svc = Services(gateway=watched, engine=engine, mode="sandbox")  # type: ignore[arg-type]

    first = sync_accounts.mirror_chunk(svc, [c for c, _ in made[:4]], threads=3)
    first_threads = set(watched.threads)
    second = sync_accounts.mirror_chunk(svc, [c for c, _ in made[4:]], threads=3)

    assert first == sum(len(a) for _, a in made[:4])
    assert second == sum(len(a) for _, a in made[4:])
    assert watched.most <= 3  # never more lists in flight than the pool's size
    assert len(set(watched.threads)) <= 3  # the second chunk ran on the first one's threads
    assert first_threads <= set(watched.threads) and len(watched.threads) == 8
    with session_scope(engine) as session:
        ids = {a["id"] for _, accounts in made for a in accounts}
        assert set(session.exec(select(AccountRecord.id)).all()) >= ids
