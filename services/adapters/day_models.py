"""The day counts the writers keep at write time for "Did our check work?"
(services/adapters/verdict_days.py): tables of their own, re-exported by
:mod:`services.adapters.models`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class DebitVerdictDayRecord(SQLModel, table=True):
    """The debits counted per UTC day of their date in a window (their original's ``created``,
    else their own), last check's verdict and outcome columns, kept at write time so "Did our
    check work?" adds up whole days instead of grouping every debit of its window again
    (services/adapters/verdict_days.py, services/usecases/check_figures.py). Only the debits
    dated within ``verdict_days.FAR`` of their original (all but a handful) are counted here."""

    __tablename__ = "debit_verdict_days"
    __table_args__ = {"sqlite_with_rowid": False}

    day: int = Field(sa_column=Column(BigInteger, primary_key=True))  # date // 86,400
    check_verdict: str = Field(primary_key=True)  # "" none
    status: str = Field(primary_key=True)
    return_code: str = Field(primary_key=True)  # "" none
    category: str = Field(primary_key=True)  # "" none
    n: int = 0


class DebitHeadroomDayRecord(SQLModel, table=True):
    """The settled debits an ``ok`` verdict let through, per UTC day of their date (as
    :class:`DebitVerdictDayRecord`), currency, headroom and balance age in buckets: what the
    policy options of "Did our check work?" hold back, added up over whole days instead of
    grouping every such debit of the window on each read (services/adapters/verdict_days.py,
    services/usecases/check_buckets.py). ``percent``: (balance - amount) × 100 // amount, -1
    below 0, 101 at or over 101; 102 for an amount of 0 or less with a balance not below it,
    103 with one below it. ``age_unit``: the balance's age in quarter hours rounded up (0 at
    or below 0), 2881 past 30 days."""

    __tablename__ = "debit_headroom_days"
    __table_args__ = {"sqlite_with_rowid": False}

    day: int = Field(sa_column=Column(BigInteger, primary_key=True))  # date // 86,400
    currency: str = Field(primary_key=True)
    percent: int = Field(primary_key=True)
    age_unit: int = Field(primary_key=True)
    n: int = 0
    amount: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
