"""What the figures kept at write time share: filling a store that lacks one (made before the
table, or filled by bulk inserts around the writers) once, from the rows it is kept from."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

__all__ = ["day_runs", "fill_once"]


def fill_once(
    engine: Engine, unfilled: Callable[[Connection], bool], rebuild: Callable[[Connection], None]
) -> bool:
    """``rebuild`` in one transaction when ``unfilled`` finds the store lacking it (probed on a
    plain connection first, so a filled store costs a few cheap reads, and again inside the
    transaction). True when it filled; False as well when another replica opening the store
    filled it at the same moment (its insert wins; ours rolls back)."""
    with engine.connect() as conn:
        if not unfilled(conn):
            return False
    try:
        with engine.begin() as conn:
            if unfilled(conn):
                rebuild(conn)
                return True
    except IntegrityError:
        pass
    return False


def day_runs(days: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive days as (first, last) runs (a recount reads each run as one range)."""
    runs: list[tuple[int, int]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs
