"""Timestamps and ages as people read them: the names pages use for
:mod:`services.rules.wording`, the one wording of dates and durations (no thresholds here)."""

from __future__ import annotations

from services.rules.wording import age as format_age
from services.rules.wording import timestamp as format_timestamp
from services.rules.wording import until as format_until

__all__ = ["format_age", "format_timestamp", "format_until"]
