"""A Stripe customer against every owner the bank reports: per-field scores, the best owner,
the verdict and the reason in words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.rules.owners.address import compare_addresses
from services.rules.owners.compare import name_detail, name_result, person_count, readable
from services.rules.owners.contact import compare_emails, compare_phones
from services.rules.owners.names import NameResult, parse_name
from services.rules.owners.results import (
    FIELD_WEIGHTS,
    NAME_MATCH,
    NAME_MISMATCH,
    OVERALL_MATCH,
    FieldMatch,
    OwnerMatch,
    OwnershipMatch,
)
from services.rules.owners.text import as_text, missing_side, name_text, safe_get

# --------------------------------------------------------------------------- owners vs customer

# metadata keys integrations use for the company or the person behind a customer
_METADATA_NAME_KEYS = (
    "company", "company_name", "business_name", "legal_name", "dba", "organization",
    "organisation", "contact_name", "owner_name", "full_name", "account_holder_name",
)  # fmt: skip


@dataclass(frozen=True)
class _Customer:
    name: str
    names: tuple[tuple[str, str], ...]  # (where it came from, name)
    description: str
    email: str
    phone: str
    address: Any


@dataclass(frozen=True)
class _OwnerEval:
    match: OwnerMatch
    name_tags: tuple[str, ...]
    customer_name: str  # which customer name the owner was compared with
    people: int


def _read_customer(customer: Any) -> _Customer:
    name = name_text(safe_get(customer, "name"))
    metadata = safe_get(customer, "metadata")
    names: list[tuple[str, str]] = [("name", name)] if name else []
    for key in _METADATA_NAME_KEYS:
        value = name_text(safe_get(metadata, key))
        if value and value not in {n for _, n in names}:
            names.append((f"metadata.{key}", value))
    first, last = (
        name_text(safe_get(metadata, "first_name")),
        name_text(safe_get(metadata, "last_name")),
    )
    if first and last:
        names.append(("metadata.first_name/last_name", f"{first} {last}"))
    return _Customer(
        name=name,
        names=tuple(names),
        description=name_text(safe_get(customer, "description")),
        email=as_text(safe_get(customer, "email")),
        phone=as_text(safe_get(customer, "phone")),
        address=safe_get(customer, "address"),
    )


def _name_field(customer: _Customer, owner_name: str) -> tuple[FieldMatch, tuple[str, ...], str]:
    """Best comparison of the owner's name with any name the customer record carries.

    The description is tried only against a business owner: integrations often keep the
    company there while ``name`` holds the contact person.
    """
    if not owner_name or not customer.names:
        detail = missing_side("name", customer.name, owner_name)
        return FieldMatch("name", None, customer.name or None, owner_name or None, detail), (), ""
    if not readable(owner_name) or not any(readable(n) for _, n in customer.names):
        # Names in non-Latin scripts are not transliterated: say so rather than "mismatch".
        same = owner_name.casefold() == customer.names[0][1].casefold()
        detail = "identical names" if same else "name is not in Latin letters; compare it by eye"
        value = customer.names[0][1]
        return FieldMatch("name", 100 if same else None, value, owner_name, detail), (), value
    candidates = list(customer.names)
    owner_is_business = any(a.business for a in parse_name(owner_name))
    if owner_is_business and customer.description and len(customer.description) <= 80:
        candidates.append(("description", customer.description))
    best: tuple[NameResult, str] | None = None
    for source, value in candidates:
        result = name_result(value, owner_name)
        if source != "name":
            result = result.plus("", f"matched the customer's {source}", 0.95)
        if best is None or result.score > best[0].score:
            best = (result, value)
    assert best is not None
    result, value = best
    detail = name_detail(result)
    return FieldMatch("name", result.score, value, owner_name, detail), result.tags, value


def _weighted_score(fields: Mapping[str, FieldMatch]) -> int:
    scored = {k: f.score for k, f in fields.items() if f.score is not None}
    if not scored:
        return 0
    weight = sum(FIELD_WEIGHTS[k] for k in scored)
    return round(sum(FIELD_WEIGHTS[k] * s for k, s in scored.items()) / weight)


def _evaluate_owner(customer: _Customer, owner: Any) -> _OwnerEval:
    owner_name = name_text(safe_get(owner, "name"))
    name, tags, customer_name = _name_field(customer, owner_name)
    email = as_text(safe_get(owner, "email"))
    phone = as_text(safe_get(owner, "phone"))
    raw_address = as_text(safe_get(owner, "raw_address"))
    e_score, e_detail = compare_emails(customer.email, email)
    p_score, p_detail = compare_phones(customer.phone, phone)
    a_score, a_detail = compare_addresses(customer.address, raw_address)
    fields = {
        "name": name,
        "email": FieldMatch("email", e_score, customer.email or None, email or None, e_detail),
        "phone": FieldMatch("phone", p_score, customer.phone or None, phone or None, p_detail),
        "address": FieldMatch(
            "address", a_score, _address_line(customer.address), raw_address or None, a_detail
        ),
    }
    match = OwnerMatch(owner_name, _weighted_score(fields), fields)
    return _OwnerEval(match, tags, customer_name, person_count(owner_name) if owner_name else 1)


def _address_line(address: Any) -> str | None:
    keys = ("line1", "line2", "city", "state", "postal_code", "country")
    parts = [as_text(safe_get(address, k)) for k in keys]
    line = ", ".join(p for p in parts if p)
    return line or None


def _owner_list(owners: Any) -> list[Any]:
    """Owners as a list; also accepts a Stripe list envelope ``{"data": [...]}``."""
    if owners is None or isinstance(owners, str | bytes):
        return []
    if not isinstance(owners, Sequence):
        data = safe_get(owners, "data")
        owners = data if isinstance(data, Sequence) and not isinstance(data, str | bytes) else []
    return [o for o in owners if o is not None and not isinstance(o, str | bytes)]


def _rank(e: _OwnerEval) -> tuple[bool, int, int]:
    name = e.match.fields["name"].score
    return (name is None or name >= NAME_MISMATCH, e.match.score, -1 if name is None else name)


def _verdict(best: OwnerMatch) -> str:
    if all(f.score is None for f in best.fields.values()):
        return "no_data"
    name = best.fields["name"].score
    if name is None:
        return "partial" if best.score >= NAME_MISMATCH else "mismatch"
    if name < NAME_MISMATCH:
        return "mismatch"
    if name >= NAME_MATCH and best.score >= OVERALL_MATCH:
        return "match"
    # People keep several emails and phones: a clear name match is still a match when only one
    # contact detail differs and nothing else contradicts it.
    others = [f.score for k, f in best.fields.items() if k != "name" and f.score is not None]
    if (
        name >= NAME_MATCH
        and sum(score < NAME_MISMATCH for score in others) <= 1
        and (len(others) < 3 or sum(score >= NAME_MATCH for score in others) >= 1)
    ):
        return "match"
    return "partial"


def _field_summary(fields: Mapping[str, FieldMatch]) -> str:
    words = []
    for key in ("email", "phone", "address"):
        score = fields[key].score
        if score is None:
            continue
        state = "matches" if score >= 85 else "is similar" if score >= 50 else "differs"
        words.append(f"{key} {state}")
    return ", ".join(words)


def _reason(verdict: str, best: _OwnerEval | None, customer: _Customer, joint_owners: int) -> str:
    if best is None:
        return "The bank returned no owners for this account; refresh ownership or verify the account another way."
    if verdict == "no_data":
        return (
            "Nothing to compare: the customer record has no name, and no email, phone or address "
            "that the bank also returned; add the customer's name to the record."
        )
    m = best.match
    owner, cust = m.owner_name or "(no name)", best.customer_name or customer.name
    why = f" ({', '.join(t for t in best.name_tags if t)})" if any(best.name_tags) else ""
    others = _field_summary(m.fields)
    joint = f" (one of {joint_owners} owners)" if joint_owners > 1 else ""
    if m.fields["name"].score is None:
        what = others or "no other field"
        return (
            f"No name to compare with owner '{owner}'{joint}: {what}. "
            "Add the customer's name to confirm who owns the account."
        )
    tail = f"; {others}" if others else ""
    if verdict == "match":
        return f"Owner '{owner}'{joint} is the customer '{cust}'{why}{tail}."
    if verdict == "partial":
        return (
            f"Owner '{owner}'{joint} may be the customer '{cust}'{why}{tail}. "
            "Check with the customer before relying on this account."
        )
    relative = (
        "Same surname, different first name: likely a relative, not the customer. "
        if "first names differ" in best.name_tags
        else ""
    )
    return (
        f"No owner matches the customer '{cust}'; the closest is '{owner}'{why}{tail}. "
        f"{relative}Confirm who owns this bank account before debiting it."
    )


def match_owners(
    customer: Mapping[str, Any], owners: Sequence[Mapping[str, Any]]
) -> OwnershipMatch:
    """Compare a Stripe customer with the owners the bank reports for a linked account.

    ``customer`` is a Stripe ``customer`` (dict or StripeObject); ``owners`` are
    ``financial_connections.account_owner`` objects. The best owner decides the verdict:
    a joint account matches when the customer is any one of its owners.
    """
    try:
        return _match_owners(customer, owners)
    except Exception:  # never let a bank's odd data break the page
        reason = "The owner data could not be read; verify the account another way."
        return OwnershipMatch(0, "no_data", reason, {}, None, [], False)


def _match_owners(customer: Any, owners: Any) -> OwnershipMatch:
    who = _read_customer(customer)
    evals = sorted((_evaluate_owner(who, o) for o in _owner_list(owners)), key=_rank, reverse=True)
    people = sum(max(e.people, 1) for e in evals)
    if not evals:
        return OwnershipMatch(0, "no_data", _reason("no_data", None, who, 0), {}, None, [], False)
    best = evals[0]
    verdict = _verdict(best.match)
    return OwnershipMatch(
        score=best.match.score,
        verdict=verdict,
        reason=_reason(verdict, best, who, people),
        fields=best.match.fields,
        best_owner=best.match.owner_name or None,
        owners=[e.match for e in evals],
        joint=people > 1,
    )
