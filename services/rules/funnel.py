"""The bank-account conversion funnel: how many setups end in a usable payment method, by route.

Each SetupIntent or PaymentIntent for ACH Direct Debit carries the `verification_method` the
business chose (reference §6.1): `automatic` (Financial Connections with a manual-entry +
microdeposit fallback), `instant` (FC only) or `microdeposits` (manual only). Comparing them
answers the questions operators ask: how many customers link instantly, how many fall back to
typing account numbers, how many of those finish microdeposit verification, and how long it
takes. This module classifies intents and counts them; it never calls Stripe.

Success time: the moment an intent became usable is best taken from its `*.succeeded` (or
`payment_intent.processing`) event, passed in as `success_times`. Without one the expanded
payment method's `created` stands in. That is exact for instant links but early for
microdeposits, where the payment method exists days before verification completes, so pass
event times whenever you have them.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from services.rules.clock import unix_seconds
from services.rules.intent_fields import mapping, verification_method
from services.rules.returns import attempt_error

__all__ = [
    "FUNNEL_COLUMNS",
    "OUTCOME_COLUMNS",
    "PATHS",
    "STAGES",
    "VERIFICATION_METHODS",
    "IntentOutcome",
    "classify_intent",
    "funnel",
    "outcomes_frame",
    "GroupCounts",
    "frame_from_groups",
    "stored_facts",
]

VERIFICATION_METHODS = ("automatic", "instant", "microdeposits")
# "other_method": an intent that offered card or Link too (Stripe's dynamic payment methods)
# and was paid that way. It is not an ACH conversion, so it is neither "succeeded" nor manual
# entry nor verified; the funnel counts it apart ("paid by another method").
STAGES = ("succeeded", "failed", "canceled", "abandoned", "pending", "other_method")
# "unknown": the payment method is an unexpanded id and the verification method allows both
# routes (or the intent offered other types too), so nothing says how it was paid.
# "other": the payment method is a card, Link or anything but a US bank account.
PATHS = ("instant", "manual", "none", "unknown", "other")

OUTCOME_COLUMNS = (
    "id",
    "kind",
    "verification_method",
    "created",
    "created_at",
    "week",
    "path",
    "stage",
    "verified",
    "seconds_to_success",
)
_COUNT_COLUMNS = (
    "started",
    "linked_instantly",
    "manual_entry",
    "verified",
    *STAGES,
)
FUNNEL_COLUMNS = (
    "verification_method",
    *_COUNT_COLUMNS,
    "conversion_rate",
    "fallback_rate",
    "median_seconds_to_success",
)

_KIND_BY_PREFIX = {"seti_": "setup_intent", "pi_": "payment_intent"}
_USABLE = {
    # A processing PaymentIntent has a verified bank account and a debit in flight, so the
    # payment method counts as converted even though the money has not settled (§6.4).
    "payment_intent": frozenset({"succeeded", "processing"}),
    "setup_intent": frozenset({"succeeded"}),
}


@dataclass(frozen=True)
class IntentOutcome:
    """Where one intent ended up in the funnel."""

    id: str
    kind: str
    verification_method: str
    created: int
    week: date
    path: str
    stage: str
    verified: bool
    seconds_to_success: int | None


def classify_intent(
    intent: Mapping[str, Any],
    *,
    now: datetime | int,
    success_time: int | None = None,
    abandon_after_seconds: int = 86_400 * 7,
) -> IntentOutcome:
    """Classify one `setup_intent` or `payment_intent` dict (payment_method expanded or not).

    Stage rules: usable (SI succeeded; PI succeeded or processing) -> "succeeded"; canceled as
    "abandoned" -> "abandoned", other cancellations -> "canceled"; back at
    `requires_payment_method` with a last error -> "failed"; waiting on the customer
    (`requires_payment_method` / `requires_confirmation`) for longer than
    `abandon_after_seconds` -> "abandoned"; anything else, including microdeposits in
    flight, -> "pending".
    """
    kind = _kind(intent)
    created = int(intent["created"])
    method = verification_method(intent)
    payment_method = _payment_method(intent, kind)
    path = _path(intent, payment_method, method)
    stage = _stage(intent, kind, now=unix_seconds(now), abandon_after=abandon_after_seconds)
    if path == "other" and stage == "succeeded":
        stage = "other_method"
    status = intent.get("status")
    return IntentOutcome(
        id=str(intent["id"]),
        kind=kind,
        verification_method=method,
        created=created,
        week=week_of(created),
        path=path,
        stage=stage,
        verified=path == "manual" and status in ("succeeded", "processing"),
        seconds_to_success=_seconds_to_success(stage, created, payment_method, success_time),
    )


def outcomes_frame(
    intents: Iterable[Mapping[str, Any]],
    *,
    now: datetime | int,
    success_times: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """One row per intent (columns OUTCOME_COLUMNS), for charts, drill-downs and CSV export."""
    times = success_times or {}
    outcomes = [
        classify_intent(i, now=now, success_time=times.get(str(i.get("id")))) for i in intents
    ]
    return _outcome_rows(outcomes)


def funnel(
    intents: Iterable[Mapping[str, Any]],
    *,
    now: datetime | int,
    success_times: Mapping[str, int] | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Funnel counts per verification method, or per (week, method) with `by="week"`.

    Every method in VERIFICATION_METHODS gets a row even with no intents (zeros), so charts
    and tables keep a stable shape; unexpected methods seen in the data follow them. With
    `by="week"`, weeks (Mondays, UTC) run without gaps from the first to the last week seen.
    `conversion_rate` is succeeded / started and `fallback_rate` is manual_entry / started
    (both 0.0 when nothing started); `median_seconds_to_success` is NaN when nothing succeeded
    with a known time. For `microdeposits` every start is manual, so its fallback_rate is 1.
    """
    if by not in (None, "week"):
        raise ValueError(f"funnel(by=...) must be None or 'week', not {by!r}.")
    times = success_times or {}
    outcomes = [
        classify_intent(i, now=now, success_time=times.get(str(i.get("id")))) for i in intents
    ]
    methods = _methods(outcomes)
    if by is None:
        rows = [_funnel_row(method, _matching(outcomes, method)) for method in methods]
        return _frame(rows, FUNNEL_COLUMNS)
    rows = [
        {"week": week, **_funnel_row(method, _matching(outcomes, method, week))}
        for week in _weeks(outcomes)
        for method in methods
    ]
    return _frame(rows, ("week", *FUNNEL_COLUMNS))


def stored_facts(intent: Mapping[str, Any]) -> dict[str, Any]:
    """What the store keeps per intent so the funnel is a SQL aggregate, not a Python loop.

    ``outcome`` is the stage, except ``"waiting"`` for an intent waiting on the customer
    (``requires_payment_method`` / ``requires_confirmation`` without an error): whether that is
    "abandoned" or "pending" depends on the time of reading, so the query decides it.
    ``pm_created`` is the payment method's creation time, the stand-in success time.
    """
    kind = _kind(intent)
    method = verification_method(intent)
    payment_method = _payment_method(intent, kind)
    path = _path(intent, payment_method, method)
    never = 2**62  # "now" far enough that no waiting intent would be abandoned
    stage = _stage(intent, kind, now=0, abandon_after=never)
    if stage == "pending":
        late = _stage(intent, kind, now=never, abandon_after=0)
        stage = "waiting" if late == "abandoned" else "pending"
    if path == "other" and stage == "succeeded":
        stage = "other_method"
    created = payment_method.get("created") if isinstance(payment_method, Mapping) else None
    usable = isinstance(created, int) and not isinstance(created, bool)
    return {
        "path": path,
        "outcome": stage,
        "verified": path == "manual" and intent.get("status") in ("succeeded", "processing"),
        "pm_created": created if usable else None,
    }


@dataclass(frozen=True)
class GroupCounts:
    """The counts of one (week, method) group, as the store aggregates them."""

    started: int
    linked_instantly: int
    manual_entry: int
    verified: int
    stages: Mapping[str, int]
    median_seconds_to_success: float | None


def frame_from_groups(
    groups: Mapping[tuple[date | None, str], GroupCounts], *, by: str | None = None
) -> pd.DataFrame:
    """The same frame as :func:`funnel`, from counts per ``(week or None, method)``."""
    methods = [*VERIFICATION_METHODS, *sorted({m for _, m in groups} - set(VERIFICATION_METHODS))]
    empty = GroupCounts(0, 0, 0, 0, {}, None)

    def row(key: tuple[date | None, str]) -> dict[str, Any]:
        g = groups.get(key, empty)
        out: dict[str, Any] = {
            "verification_method": key[1],
            "started": g.started,
            "linked_instantly": g.linked_instantly,
            "manual_entry": g.manual_entry,
            "verified": g.verified,
        }
        out.update({stage: int(g.stages.get(stage, 0)) for stage in STAGES})
        out["conversion_rate"] = out["succeeded"] / g.started if g.started else 0.0
        out["fallback_rate"] = out["manual_entry"] / g.started if g.started else 0.0
        median = g.median_seconds_to_success
        out["median_seconds_to_success"] = float(median) if median is not None else float("nan")
        return out

    if by is None:
        return _frame([row((None, m)) for m in methods], FUNNEL_COLUMNS)
    seen = sorted({w for w, _ in groups if w is not None})
    weeks = (
        [seen[0] + timedelta(weeks=n) for n in range((seen[-1] - seen[0]).days // 7 + 1)]
        if seen
        else []
    )
    rows = [{"week": week, **row((week, m))} for week in weeks for m in methods]
    return _frame(rows, ("week", *FUNNEL_COLUMNS))


def week_of(ts: int) -> date:
    """The Monday (UTC) of the week containing Unix time `ts`."""
    day = datetime.fromtimestamp(ts, tz=UTC).date()
    return day - timedelta(days=day.weekday())


# --- classification -------------------------------------------------------------------------


def _kind(intent: Mapping[str, Any]) -> str:
    kind = intent.get("object")
    if kind in _USABLE:
        return str(kind)
    ident = str(intent.get("id", ""))
    for prefix, guessed in _KIND_BY_PREFIX.items():
        if ident.startswith(prefix):
            return guessed
    raise ValueError(f"{ident or 'This object'} is neither a setup_intent nor a payment_intent.")


def _payment_method(intent: Mapping[str, Any], kind: str) -> Mapping[str, Any] | str | None:
    """The intent's payment method, or the one its last failed attempt used.

    A failed intent drops back to `requires_payment_method` and clears `payment_method`, but
    the error keeps the payment method that failed (reference §1.5), which tells the route.
    """
    found = intent.get("payment_method")
    if found:
        return found if isinstance(found, Mapping | str) else None
    failed = _attempt_error(intent, kind).get("payment_method")
    return failed if isinstance(failed, Mapping | str) and failed else None


def _attempt_error(intent: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """A SetupIntent's ``last_setup_error`` (it makes no charge); a PaymentIntent's
    ``last_payment_error``, else its expanded failed latest charge's (Stripe clears the error
    when the intent is updated after the attempt: :func:`attempt_error`)."""
    if kind == "setup_intent":
        return mapping(intent.get("last_setup_error"))
    return attempt_error(intent)


def _path(
    intent: Mapping[str, Any], payment_method: Mapping[str, Any] | str | None, method: str
) -> str:
    if mapping(intent.get("next_action")).get("type") == "verify_with_microdeposits":
        return "manual"
    if isinstance(payment_method, Mapping):
        if payment_method.get("type", "us_bank_account") != "us_bank_account":
            return "other"
        bank = mapping(payment_method.get("us_bank_account"))
        return "instant" if bank.get("financial_connections_account") else "manual"
    if payment_method is None:
        return "none"
    if _offers_other_types(intent):
        return "unknown"  # an unexpanded id of an intent that offered card or Link too
    # Only the id is known: the verification method decides when it allows one route only.
    return {"instant": "instant", "microdeposits": "manual"}.get(method, "unknown")


def _offers_other_types(intent: Mapping[str, Any]) -> bool:
    types = intent.get("payment_method_types")
    return isinstance(types, list) and any(t != "us_bank_account" for t in types)


def _stage(intent: Mapping[str, Any], kind: str, *, now: int, abandon_after: int) -> str:
    status = intent.get("status")
    if status in _USABLE[kind]:
        return "succeeded"
    if status == "canceled":
        return "abandoned" if intent.get("cancellation_reason") == "abandoned" else "canceled"
    if status == "requires_payment_method" and _attempt_error(intent, kind):
        return "failed"
    waiting = status in ("requires_payment_method", "requires_confirmation")
    if waiting and now - int(intent["created"]) > abandon_after:
        return "abandoned"
    return "pending"


def _seconds_to_success(
    stage: str,
    created: int,
    payment_method: Mapping[str, Any] | str | None,
    success_time: int | None,
) -> int | None:
    """Seconds from intent creation to usable; None when unknown or implausible.

    A payment method created before the intent (a saved one being reused) says nothing about
    this intent's speed, so a negative span is dropped rather than reported as zero.
    """
    if stage != "succeeded":
        return None
    moment = success_time
    if moment is None and isinstance(payment_method, Mapping):
        moment = payment_method.get("created")
    if not isinstance(moment, int) or isinstance(moment, bool) or moment < created:
        return None
    return moment - created


# --- aggregation ----------------------------------------------------------------------------


def _methods(outcomes: list[IntentOutcome]) -> list[str]:
    extra = sorted({o.verification_method for o in outcomes} - set(VERIFICATION_METHODS))
    return [*VERIFICATION_METHODS, *extra]


def _weeks(outcomes: list[IntentOutcome]) -> list[date]:
    if not outcomes:
        return []
    first = min(o.week for o in outcomes)
    last = max(o.week for o in outcomes)
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def _matching(
    outcomes: list[IntentOutcome], method: str, week: date | None = None
) -> list[IntentOutcome]:
    return [
        o for o in outcomes if o.verification_method == method and (week is None or o.week == week)
    ]


def _funnel_row(method: str, group: list[IntentOutcome]) -> dict[str, Any]:
    started = len(group)
    row: dict[str, Any] = {
        "verification_method": method,
        "started": started,
        "linked_instantly": sum(o.path == "instant" for o in group),
        "manual_entry": sum(o.path == "manual" for o in group),
        "verified": sum(o.verified for o in group),
    }
    # other_method (paid by card or Link) comes in with the stages below, apart from the rest
    row.update({stage: sum(o.stage == stage for o in group) for stage in STAGES})
    row["conversion_rate"] = row["succeeded"] / started if started else 0.0
    row["fallback_rate"] = row["manual_entry"] / started if started else 0.0
    spans = [o.seconds_to_success for o in group if o.seconds_to_success is not None]
    row["median_seconds_to_success"] = float(statistics.median(spans)) if spans else float("nan")
    return row


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    dtypes: dict[str, str] = {c: "int64" for c in _COUNT_COLUMNS}
    dtypes.update(
        conversion_rate="float64", fallback_rate="float64", median_seconds_to_success="float64"
    )
    frame = frame.astype(dtypes)
    if "week" in frame.columns:
        frame["week"] = frame["week"].astype(object)
    return frame


def _outcome_rows(outcomes: list[IntentOutcome]) -> pd.DataFrame:
    frame = pd.DataFrame([asdict(o) for o in outcomes], columns=list(OUTCOME_COLUMNS))
    text = ("id", "kind", "verification_method", "path", "stage")
    frame = frame.astype(
        {
            **{c: "str" for c in text},
            "created": "int64",
            "verified": "bool",
            "seconds_to_success": "Int64",
        }
    )
    frame["created_at"] = pd.to_datetime(frame["created"], unit="s", utc=True)
    frame["week"] = frame["week"].astype(object)
    return frame
