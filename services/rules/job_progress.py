"""How far a running job has got, as a page draws it.

A bar only where the job knows, or can estimate, how much there is to do. Stripe's lists carry
no total, so a sync walking them knows only what it has read so far; a bar that filled
asymptotically there (``done / (done + 50)``) stood at 99 % after a tenth of a 20,000-customer
walk and stayed there for ten minutes. Such a job shows its count and how long it has run
instead: the seconds moving say it is alive. An estimate (the store's count from the last walk)
may be exceeded, so a running job's bar never reads full.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from services.rules.wording import duration

RUNNING_CAP = 0.99  # a bar while the job runs: never full, whatever the estimate said


def fraction(done: int, total: int | None) -> float | None:
    """The bar's fill for a running job, or None: no total, so no bar."""
    if not total or total <= 0:
        return None
    return max(0.0, min(RUNNING_CAP, done / total))


def running_for(started_at: datetime | None, now: datetime) -> str:
    """' · 2 min so far' since the job started ('' before it started); naive times are UTC."""
    if started_at is None:
        return ""
    start = started_at if started_at.tzinfo else started_at.replace(tzinfo=UTC)
    return f" · {duration((now - start).total_seconds())} so far"


def about(done: int, expected: int | None, noun: str) -> str:
    """'1,200 of about 3,000 customers', or '3,050 customers' once past (or with no) estimate."""
    if expected and expected > done:
        return f"{done:,} of about {expected:,} {noun}"
    return f"{done:,} {noun}"


ENDS_A_SENTENCE = (".", "!", "?", "…")


def as_sentence(text: str) -> str:
    """``text`` ending as a sentence: a full stop added unless it ends with one, a '!', a '?' or
    an ellipsis ("Reading changes from Stripe…." had four dots), or with a bracket after one
    ("… Try again in a minute. (Stripe request req_…)" got a full stop after the bracket)."""
    text = text.strip()
    if text.endswith(")") and " (" in text:
        before = text[: text.rindex(" (")].rstrip()
        if before.endswith(ENDS_A_SENTENCE):
            return text
    return text if not text or text.endswith(ENDS_A_SENTENCE) else f"{text}."


def stripe_trouble(reason: str, *, rate_limited: bool = False, no_answer: bool = False) -> str:
    """What Stripe did, in a few words, from a failure's sentence: 'Stripe answered HTTP 500'."""
    if rate_limited:
        return "Stripe is rate-limiting requests"
    if no_answer:
        return "Stripe did not answer"
    status = re.search(r"HTTP (\d{3})", reason)
    return f"Stripe answered HTTP {status.group(1)}" if status else "The last try failed"


def retrying(
    trouble: str, attempt: int, attempts: int, request: tuple[int, int] | None = None
) -> str:
    """A job's line while a step of it is tried again: 'Stripe answered HTTP 500; trying again
    (attempt 3 of 5)…' once DBOS runs the step again. Before that, while one request of the step's
    first attempt is asked again (``request``: its next try, of how many): '… trying again (try 2
    of 6)…' (the first retry said only 'trying again…'). One count at a time: a person reads how
    far along the retrying is, not the two levels it happens on."""
    if attempt > 1 and attempts > 1:
        count = f" (attempt {attempt} of {attempts})"
    elif request:
        count = f" (try {request[0]} of {request[1]})"
    else:
        count = ""
    return f"{trouble}; trying again{count}…"


def line(label: str, message: str | None) -> str:
    """A progress line: the page's ``label`` and the job's own step, without saying twice what
    the label says ("Reading intents from Stripe: Reading success events from Stripe…" read as
    "Reading intents from Stripe: success events…"); 'queued…' before the job's first step."""
    step = (message or "").strip() or "queued…"
    verb = label.split(" ", 1)[0] + " "
    if step.startswith(verb) and label.startswith(verb):
        step = step.removeprefix(verb)
        if " from Stripe" in label:
            step = step.replace(" from Stripe", "", 1)
    return f"{label}: {step}"


def failed_since(status: str, finished_at: datetime | None, last_success: datetime | None) -> bool:
    """Whether a sync's latest ended attempt (``status``, ``finished_at``) failed after its last
    success (``last_success``: when the page's "last synced" says; None: never), so the figures
    drawn from the store are older than a person would read them as. Naive times are UTC."""
    if status != "failed" or finished_at is None:
        return False
    if last_success is None:
        return True

    def utc(at: datetime) -> datetime:
        return at if at.tzinfo else at.replace(tzinfo=UTC)

    return utc(finished_at) > utc(last_success)
