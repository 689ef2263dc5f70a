"""Recognising Stripe object IDs typed or pasted by people."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.errors import ValidationError
from services.rules.input_limits import has_control_chars

PREFIXES: dict[str, str] = {
    "cus_": "customer",
    "fca_": "financial_connections.account",
    "pm_": "payment_method",
    "pi_": "payment_intent",
    "py_": "charge",  # the payment of a bank debit (a PaymentIntent's latest_charge)
    "ch_": "charge",
    "seti_": "setup_intent",
    "fcsess_": "financial_connections.session",
    "mandate_": "mandate",
    "evt_": "event",
}
_ID_RE = re.compile(r"^[a-z]+_[A-Za-z0-9_]{3,}$")  # at most MAX_ID_LENGTH in all
# Stripe documents no maximum length for its object IDs, and its Python SDK types them as plain
# ``str`` (no length anywhere), so this bound is fcops' own and generous: the IDs Stripe makes
# are far shorter (cus_ and 14 characters, fca_ and pi_ and 24). Anything longer is no Stripe
# ID and is refused before any call (a 5,000-character ?customer= was cut to 100 and sent:
# "Stripe has no customer cus_AAAA…", while the address kept all 5,000).
MAX_ID_LENGTH = 255
LABELS: dict[str, str] = {  # kind -> what a sentence calls it
    "customer": "customer",
    "financial_connections.account": "Financial Connections account",
    "payment_method": "PaymentMethod",
    "payment_intent": "PaymentIntent",
    "charge": "payment",
    "setup_intent": "SetupIntent",
    "financial_connections.session": "Financial Connections session",
    "mandate": "mandate",
    "event": "event",
}
# Stripe's 404 text: "No such customer: 'cus_…'" (the noun varies: payment_intent,
# financial connections account, PaymentMethod…), sometimes with a sentence on the mode after it.
_NO_SUCH = re.compile(r"No such ([\w. ]+?): '([^']*)'")
_OTHER_MODE = re.compile(r"exists in (test|live) mode, but a (test|live) mode key")


def clean_id(text: str | None) -> str:
    """Strip what people paste around IDs (spaces, quotes, trailing punctuation); take the ID out
    of a Stripe Dashboard URL, and out of a client secret (``pi_…_secret_…``: its object's ID)."""
    value = from_url((text or "").strip().strip("'\"`.,;").strip())
    head, secret, _ = value.partition("_secret_")
    return head if secret and kind_of(head) else value


def from_url(text: str) -> str:
    """The ID in a Stripe Dashboard URL (``https://dashboard.stripe.com/test/payments/pi_…``):
    its last path segment with a known prefix; any other text as it is."""
    if "://" not in text and not text.startswith("dashboard.stripe.com/"):
        return text
    path = text.split("?", 1)[0].split("#", 1)[0]
    found = [part for part in path.split("/") if kind_of(part) and _ID_RE.match(part)]
    return found[-1] if found else text


def is_dashboard_link(text: str) -> bool:
    """Whether ``text`` is a Stripe Dashboard address (``https://dashboard.stripe.com/…``), as
    :func:`from_url` leaves one that holds no ID it knows (a list's: ``…/test/customers``)."""
    rest = text.strip().split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return host.lower() == "dashboard.stripe.com"


# What a customer search says of a Dashboard link that names no customer (nor any other object).
NO_CUSTOMER_IN_LINK = (
    "That Stripe Dashboard link names no customer: paste the customer's own link "
    "(…/customers/cus_…) or their customer ID (cus_…)."
)


def kind_of(object_id: str) -> str | None:
    for prefix, kind in PREFIXES.items():
        if object_id.startswith(prefix):
            return kind
    return None


def parse_id(
    text: str | None, *, allowed: tuple[str, ...] | None = None, what: str | None = None
) -> tuple[str, str]:
    """Return ``(id, kind)`` or raise a ValidationError that says what would be accepted: quoting
    what was typed (not what cleaning it left: "'; drop" is not "drop") and naming ``what``
    accepts it ("Payment lookup"; without it, "here")."""
    value = clean_id(text)
    typed = as_typed((text or "").strip())
    if has_control_chars(value):
        raise ValidationError("The ID contains a control character or NUL byte; paste it again.")
    accepted = allowed or tuple(dict.fromkeys(PREFIXES.values()))
    names = ", ".join(p for want in accepted for p, k in PREFIXES.items() if k == want)
    if not value:
        raise ValidationError(f"Enter an ID. Accepted: {names}…")
    if long := overlong(text):
        raise ValidationError(long)
    kind = kind_of(value)
    if kind is not None and kind in accepted and not _ID_RE.match(value):
        raise ValidationError(  # the right prefix, the rest cut off or mangled
            f"{typed} is not a complete {LABELS[kind]} ID: it is cut short or has "
            "characters IDs never have; copy the whole ID."
        )
    if kind is None or kind not in accepted:
        prefixes = [f"{p}…" for want in accepted for p, k in PREFIXES.items() if k == want]
        listed = f"{', '.join(prefixes[:-1])} or {prefixes[-1]}" if prefixes[1:] else prefixes[0]
        where = f"{what} accepts" if what else "accepted here"
        raise ValidationError(
            f"{typed} is not a Stripe ID {where}: paste a {listed} ID or a Dashboard link."
        )
    return value, kind


# The fcops page that opens an object other than a customer pasted into a customer search:
# Payment lookup finds the bank account behind a payment, an intent or a PaymentMethod; Accounts
# opens a Financial Connections account. No page opens the other kinds (mandate, event, session).
OPENED_IN: dict[str, str] = {
    "payment_intent": "Payment lookup",
    "charge": "Payment lookup",
    "setup_intent": "Payment lookup",
    "payment_method": "Payment lookup",
    "financial_connections.account": "Accounts",
}


@dataclass(frozen=True)
class NotACustomer:
    """An ID (typed, or in a pasted Dashboard URL) of a Stripe object other than a customer, and
    the page that opens it (``page``, None when none does)."""

    object_id: str
    kind: str
    page: str | None

    @property
    def sentence(self) -> str:
        label = LABELS.get(self.kind, self.kind.replace("_", " "))
        article = "an" if label[:1].lower() in "aeiou" else "a"
        what = f"That is {article} {label} ({as_typed(self.object_id)}), not a customer"
        if self.page == "Payment lookup":
            return f"{what}: open it in Payment lookup, which finds the bank account behind it."
        if self.page:
            return f"{what}: open it in {self.page}."
        return f"{what}: search by a customer ID (cus_…), an email, or part of a name."


def not_a_customer(text: str | None) -> NotACustomer | None:
    """What a customer search was given instead of a customer, when it was given the ID of
    another object, alone or in a Stripe Dashboard URL (``…/test/payments/pi_…``); None for
    a customer ID, a customer's URL and any other text (a name, an email)."""
    value = clean_id(text)
    kind = kind_of(value)
    if kind is None or kind == "customer" or any(c.isspace() for c in value):
        return None
    return NotACustomer(value, kind, OPENED_IN.get(kind))


def is_id(text: str, prefix: str) -> bool:
    """Whether ``text`` is a well-formed ID with ``prefix`` (``cus_…`` from a link, say)."""
    return text.startswith(prefix) and len(text) <= MAX_ID_LENGTH and bool(_ID_RE.match(text))


def overlong(text: str | None) -> str | None:
    """The sentence refusing ``text`` when, cleaned as :func:`parse_id` cleans it, it is longer
    than any Stripe ID (:data:`MAX_ID_LENGTH`); None otherwise."""
    value = clean_id(text)
    if len(value) <= MAX_ID_LENGTH:
        return None
    return (
        f"{as_typed((text or '').strip()[:40] + '…')} is not a Stripe ID: it is {len(value):,} characters "
        f"long, and Stripe's IDs are far shorter (fcops takes at most {MAX_ID_LENGTH}). Copy "
        "the ID alone, whole."
    )


def _escaped(char: str) -> str:
    """A character as a reader can see it: itself when printable, else its escape (a control
    or format character, a bidi override, U+FFFD standing for bytes that did not decode)."""
    if char.isprintable() and char != "\ufffd":
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def as_typed(text: str, limit: int = 60) -> str:
    """Someone's text inside a sentence pages draw as Markdown: a code span, which draws
    nothing of it (a pasted ``[sign in](https://…)`` would be a link inside fcops' own error;
    a link's parameter can carry it to a colleague). On one line, every character printable
    (``flow \\ufffd\\x00``: what cannot be shown is escaped, as Python writes it) and at most
    ``limit`` characters of it, with "…" where it was cut."""
    shown, space = "", False
    for char in text:
        if char.isspace():  # a run of spaces, tabs or line breaks is one space, none at the ends
            space = bool(shown)
            continue
        piece = (" " if space else "") + _escaped("'" if char == "`" else char)
        if len(shown) + len(piece) > limit:
            return f"`{shown}…`"
        shown, space = shown + piece, False
    return f"`{shown}`" if shown else "''"


def unknown_id_sentence(
    object_id: str, kind: str | None = None, *, or_what: str = "", request_id: str | None = None
) -> str:
    """What to say when Stripe has no object with this ID: which object, the ID as typed, and
    what to check, since a well-formed ID is unknown for one of three reasons people can fix.
    ``request_id`` ends it as every Stripe error does, for Stripe's support."""
    label = LABELS.get(kind or kind_of(object_id) or "", (kind or "object").replace("_", " "))
    return (
        f"Stripe has no {label} {as_typed(object_id)}{or_what}. Check that the whole ID was "
        "copied, that it is from the mode fcops runs in (test or live), and that it belongs "
        "to this Stripe account rather than another one."
        + (f" (Stripe request {request_id})" if request_id else "")
    )


def unknown_id_from_stripe(message: str) -> str | None:
    """fcops' sentence for Stripe's "No such …: '…'" message, or None when it is not one."""
    found = _NO_SUCH.search(message)
    if not found:
        return None
    noun, object_id = found.groups()
    kind = kind_of(object_id) or noun.strip().lower().replace(" ", "_")
    other = _OTHER_MODE.search(message)
    if other:
        return (
            f"Stripe has no {LABELS.get(kind, kind.replace('_', ' '))} {as_typed(object_id)} "
            f"in {other.group(2)} mode, the mode fcops runs in: it is a {other.group(1)}-mode "
            f"ID. Use the {other.group(2)}-mode ID."
        )
    return unknown_id_sentence(object_id, kind)
