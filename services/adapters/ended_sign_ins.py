"""Sign-ins that were logged out, in the store, so every tab and every app replica sees it.

A password sign-in carries a random id in its cookie; every tab of that browser restored from
the cookie shares it. Log out writes the id here; each run of any tab then reads it back (one
primary-key read) and refuses a session whose id is here. A row is kept until the cookie it
belongs to would have expired anyway, then dropped.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, delete

from services.adapters.store import retrying, session_scope


class EndedSignIn(SQLModel, table=True):
    """One logged-out sign-in (its cookie's ``sid``) and when its cookie would have expired."""

    __tablename__ = "ended_sign_ins"

    sign_in_id: str = Field(primary_key=True, max_length=64)
    username: str = Field(default="", max_length=200)
    ended_at: float = 0.0
    expires_at: float = Field(default=0.0, index=True)  # the row is useless after this


def end(engine: Engine, sign_in_id: str, *, username: str, t: float, expires_at: float) -> None:
    """Record ``sign_in_id`` as ended (again is fine), and drop rows whose cookies expired."""

    def work(session: Session) -> None:
        row = session.get(EndedSignIn, sign_in_id)
        if row is None:
            session.add(EndedSignIn(sign_in_id=sign_in_id, username=username, ended_at=t,
                                    expires_at=max(expires_at, t)))

    retrying(engine, work)
    with session_scope(engine) as session:
        session.exec(delete(EndedSignIn).where(col(EndedSignIn.expires_at) < t))  # type: ignore[call-overload]


def has_ended(engine: Engine, sign_in_id: str) -> bool:
    with session_scope(engine) as session:
        return session.get(EndedSignIn, sign_in_id) is not None
