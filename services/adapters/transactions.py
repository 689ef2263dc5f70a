"""Transactions: a session that commits or rolls back, and the retry of a lost race.

(Re-exported by :mod:`services.adapters.store`, where callers import them from.)
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

T = TypeVar("T")
log = logging.getLogger(__name__)

ATTEMPTS = 3  # a unique-key race: the second attempt sees the other writer's row
LOCK_ATTEMPTS = 5  # a deadlock or serialization failure: the other writer may still be busy
# PostgreSQL's SQLSTATEs for "run the transaction again": deadlock_detected,
# serialization_failure (the transaction was aborted; nothing of it was written)
RETRIED_STATES = frozenset({"40P01", "40001"})


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise


def lock_conflict(err: BaseException) -> str | None:
    """The SQLSTATE of a PostgreSQL deadlock or serialization failure ``err`` wraps, else None."""
    if not isinstance(err, DBAPIError) or isinstance(err, IntegrityError):
        return None
    orig = err.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)  # psycopg 3 / 2
    return state if state in RETRIED_STATES else None


def retrying(
    engine: Engine,
    work: Callable[[Session], T],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``work`` in a transaction; when it loses a race with another writer, run it again.

    - A unique-key race (IntegrityError): the second attempt sees the other writer's row and
      updates it instead of inserting (up to :data:`ATTEMPTS` runs).
    - A PostgreSQL deadlock or serialization failure (:data:`RETRIED_STATES`): the database
      aborted this transaction so the other could go on; it runs again after a short random
      pause (up to :data:`LOCK_ATTEMPTS` runs), so two writers do not meet again in step.

    Any other error, and the last attempt's, is raised as it is.
    """
    races = 0
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            with session_scope(engine) as session:
                return work(session)
        except IntegrityError:
            races += 1
            if races >= ATTEMPTS or attempt == LOCK_ATTEMPTS:
                raise
        except DBAPIError as err:
            state = lock_conflict(err)
            if state is None or attempt == LOCK_ATTEMPTS:
                raise
            pause = random.uniform(0.01, 0.05) * attempt
            log.warning("Database lock conflict (SQLSTATE %s); running the transaction again "
                        "in %.0f ms (attempt %d of %d)", state, pause * 1000, attempt + 1,
                        LOCK_ATTEMPTS)
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover
