"""Bank descriptions: the payer/payee label behind the trace ids, and whether a credit is income.

Pure: no I/O.
"""

from __future__ import annotations

import re

__all__ = ["looks_like_income", "normalise_description", "payer_key"]

_CHASE_ACH = re.compile(r"ORIG CO NAME:\s*(?P<name>.+?)\s+(?:ORIG ID|DESC DATE|CO ENTRY|SEC:|$)")
_CHASE_DESCR = re.compile(r"CO ENTRY DESCR:\s*(?P<descr>.+?)\s+(?:SEC:|TRACE|EED|IND|ORIG|$)")
_STRIP_PATTERNS = [
    # "PPD ID: 9876", "WEB ID: 1234567890", "CCD ID:XYZ123"
    re.compile(r"\b(?:PPD|CCD|WEB|TEL|CTX|ARC|BOC|POP|IAT)\s*ID\s*:?\s*\S+"),
    # "ID: 123", "REF #ABC12", "TRACE 0210...", "CONF# 99", "INDN:JANE DOE" keeps the name
    re.compile(
        r"\b(?:ID|REF|REFERENCE|TRACE|CONF|CONFIRMATION|TRN|TXN|TRANS|AUTH|SEQ|ACCT|ACCOUNT)"
        r"\s*(?:#|NO\.?|NUMBER)?\s*[:#]?\s*\S*\d\S*"
    ),
    re.compile(r"\b(?:INDN|IND NAME|CO ID)\s*:"),
    # dates: 12/13, 12-13-2024, 2024-12-13
    re.compile(r"\b\d{1,4}[/-]\d{1,2}(?:[/-]\d{2,4})?\b"),
    # masked accounts and card numbers: XXXX1234, ****1234, x1234
    re.compile(r"[X*]+\d+\b"),
    re.compile(r"#\S*"),
    # split "AMAZON.COM*2K4" into words before judging them
    re.compile(r"[*./\\_,:;()\[\]-]"),
    # any remaining token that carries a digit is an identifier, not a name
    re.compile(r"\S*\d\S*"),
]
_PREFIXES = re.compile(
    r"^(?:POS DEBIT|POS PURCHASE|POS|DEBIT CARD PURCHASE|CHECKCARD|CHECK CARD|"
    r"PURCHASE AUTHORIZED ON|RECURRING PAYMENT AUTHORIZED ON|DBT CRD|ACH DEBIT|ACH CREDIT|"
    r"ACH DEPOSIT|ACH)\s+"
)
_SEC_SUFFIX = re.compile(r"(?:\s+(?:PPD|CCD|WEB|TEL|CTX|SEC|ID|CO|ORIG|ON))+$")
_PUNCT = re.compile(r"[^A-Z&' ]+")
_SPACES = re.compile(r"\s+")


def normalise_description(text: str) -> str:
    """Reduce a bank description to a stable payer/payee label so rows can be grouped.

    Banks decorate the same counterparty with trace ids, dates, masked account numbers and
    NACHA codes ("ACME CORP PAYROLL PPD ID: 9876 12/13"); those change on every row, so they are
    removed and what is left (the name and its purpose words) is upper-cased and collapsed.
    """
    s = (text or "").upper()
    chase = _CHASE_ACH.search(s)
    if chase:
        descr = _CHASE_DESCR.search(s)
        s = chase["name"] + (" " + descr["descr"] if descr else "")
    for pattern in _STRIP_PATTERNS:
        s = pattern.sub(" ", s)
    s = _PUNCT.sub(" ", s)
    s = _SPACES.sub(" ", s).strip()
    s = _PREFIXES.sub("", s)
    s = _SEC_SUFFIX.sub("", s).strip()
    return s or _SPACES.sub(" ", (text or "").upper()).strip()


# Words that describe *how* money arrived rather than *who* sent it: "ACME CORP PAYROLL" and
# "ACME CORP DIRECT DEP" are the same payer.
_PURPOSE_WORDS = frozenset(
    {
        "PAYROLL", "PAYRLL", "PYRL", "DIRECT", "DIR", "DEP", "DEPOSIT", "DD", "SALARY", "SAL",
        "WAGES", "PAY", "PAYMENT", "PMT", "PYMT", "ACH", "CREDIT", "CR", "EDI", "PPD", "CCD",
        "REG", "NET",
    }
)  # fmt: skip


def payer_key(label: str) -> str:
    words = [w for w in label.split() if w not in _PURPOSE_WORDS]
    return " ".join(words) or label


# Credits that are not earnings: refunds and reversals give money back, and transfers from the
# holder's own savings move it; neither says anything about ability to pay.
_NOT_INCOME = [
    re.compile(r"\b(?:REFUND|REFUNDS|REVERSAL|REVERSED|RETURN|RETURNED|CHARGEBACK|CASHBACK)\b"),
    re.compile(r"\bCASH BACK\b|\bREWARDS?\b|\bADJUSTMENT\b|\bDISPUTE\b"),
    re.compile(r"\b(?:ONLINE|INTERNAL|BOOK|MOBILE|OVERDRAFT) (?:TRANSFER|XFER|TFR)\b"),
    # a credit card account credited by the holder's own payment
    re.compile(r"\bPAYMENT THANK YOU\b|\bAUTOPAY PAYMENT RECEIVED\b"),
    re.compile(
        r"\b(?:TRANSFER|XFER|TFR)\b.*\b(?:SAV|SAVINGS|CHK|CHECKING|SHARE|MMA|MONEY MARKET)\b"
    ),
]


def looks_like_income(label: str) -> bool:
    return not any(p.search(label) for p in _NOT_INCOME)
