"""One page of a longer list: the rows shown, the true number that match, and the page arithmetic.

Pure: no I/O. Every paged view (customers, accounts, blocked accounts, transactions, the ownership
review) is a :class:`Page` of its own rows, so "page 2 of 7, rows 26–50" is worked out once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def page_count(total: int, page_size: int) -> int:
    """How many pages ``total`` rows fill (one, empty, when nothing matched)."""
    return max(1, -(-total // page_size))


def clamp(page: int, total: int, page_size: int) -> int:
    """The page to show for ``page``: 1 at least, and the last page for one past the end."""
    return max(1, min(int(page), page_count(total, page_size)))


@dataclass(frozen=True)
class Page(Generic[T]):
    """``rows`` of one page; ``total`` is the true number that match (not the page size)."""

    rows: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.page_size)

    @property
    def first(self) -> int:
        """1-based position of the first row on this page (0 when nothing matched)."""
        return (self.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0
