"""Money in, money checked: parse what people type into integer minor units.

Inside fcops money is always an integer count of minor units plus a lowercase ISO 4217 code
(Stripe's convention, reference §1.10). Text typed by a person or read from a CSV crosses into
that form here, once, and anything doubtful is refused with a sentence the person can act on
rather than silently rounded: a debit for the wrong amount is far worse than a rejected form.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from services.rules.input_limits import has_control_chars

__all__ = [
    "CURRENCY_EXPONENTS",
    "DEFAULT_EXPONENT",
    "MAX_MAJOR_AMOUNT",
    "MisreadAmount",
    "MoneyError",
    "decimal_amount",
    "exponent",
    "format_plain",
    "parse_amount",
    "parse_unambiguous_amount",
    "validate_currency",
]


class MoneyError(ValueError):
    """An amount or currency a person supplied cannot be used; the message says why."""


class MisreadAmount(MoneyError):
    """An amount written as much of Europe writes it ("1.000", "1.000,50"): the message, which
    starts with the amount as typed ("'1.000' could be read two ways: …"), says how to write it."""


DEFAULT_EXPONENT = 2

# Currencies whose minor unit is not a hundredth. Zero-decimal ones follow Stripe's list;
# three-decimal ones follow ISO 4217. Everything else has two decimals.
CURRENCY_EXPONENTS: dict[str, int] = {
    "usd": 2,
    "eur": 2,
    "gbp": 2,
    "cad": 2,
    "bif": 0,
    "clp": 0,
    "djf": 0,
    "gnf": 0,
    "jpy": 0,
    "kmf": 0,
    "krw": 0,
    "mga": 0,
    "pyg": 0,
    "rwf": 0,
    "ugx": 0,
    "vnd": 0,
    "vuv": 0,
    "xaf": 0,
    "xof": 0,
    "xpf": 0,
    "bhd": 3,
    "jod": 3,
    "kwd": 3,
    "omr": 3,
    "tnd": 3,
}

# The largest amount accepted, in major units. ACH debits this large are not plausible for
# the businesses this tool serves, so a bigger figure is almost surely a typo (or a pasted
# account number) and must not reach Stripe.
MAX_MAJOR_AMOUNT = Decimal("99999999.99")

# Active ISO 4217 codes (precious metals and test codes left out). Checking against the list
# catches typos like "uds" that a bare "three letters" rule would let through.
_ISO_4217_CODES = """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob bov brl bsd
    btn bwp byn bzd cad cdf che chf chw clf clp cny cop cou crc cuc cup cve czk djf dkk dop
    dzd egp ern etb eur fjd fkp gbp gel ghs gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr
    iqd irr isk jmd jod jpy kes kgs khr kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl lyd mad
    mdl mga mkd mmk mnt mop mru mur mvr mwk mxn mxv myr mzn nad ngn nio nok npr nzd omr pab
    pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sdg sek sgd shp sle sll sos srd
    ssp stn svc syp szl thb tjs tmt tnd top try ttd twd tzs uah ugx usd usn uyi uyu uyw uzs
    ved ves vnd vuv wst xaf xcd xcg xof xpf yer zar zmw zwg zwl
    """
_ISO_4217 = frozenset(_ISO_4217_CODES.split())

# Symbols a person may type in front of a number, and the currencies each can stand for.
_SYMBOLS: dict[str, frozenset[str]] = {
    "$": frozenset({"usd", "cad", "aud", "nzd", "hkd", "sgd", "mxn"}),
    "€": frozenset({"eur"}),
    "£": frozenset({"gbp"}),
    "¥": frozenset({"jpy", "cny"}),
}

_PLAIN_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_GROUPED_NUMBER = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")


def validate_currency(code: str) -> str:
    """Return `code` as Stripe spells it (lowercase ISO 4217), or raise MoneyError."""
    if not isinstance(code, str) or not code.strip():
        raise MoneyError("A currency is required, as a three-letter code such as USD.")
    if has_control_chars(code):
        raise MoneyError("The currency contains a control character or NUL byte; type it again.")
    cleaned = code.strip().lower()
    if not re.fullmatch(r"[a-z]{3}", cleaned):
        raise MoneyError(f"'{code.strip()}' is not a currency code; use three letters such as USD.")
    if cleaned not in _ISO_4217:
        raise MoneyError(
            f"'{cleaned.upper()}' is not a known currency code; use the debit's three-letter "
            "currency code, such as USD."
        )
    return cleaned


def exponent(currency: str) -> int:
    """Number of decimal places of `currency`'s minor unit (2 unless the table says otherwise)."""
    return CURRENCY_EXPONENTS.get(currency.strip().lower(), DEFAULT_EXPONENT)


# Only symbols that are unambiguous for this tool's users; other currencies show their code
# after the number ("1,234.56 CHF") rather than a symbol a reader could misread.
SYMBOLS: dict[str, str] = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def format_plain(amount: int, currency: str) -> str:
    """Minor units as people read them: "$1,234.56", "-$12.00", "¥500", "1,234.56 CHF".

    The one money formatter: services use it in their sentences, and
    ``components.money.format_money`` (the edge) wraps it, so a reason and the figure beside it
    always read the same.
    """
    code = currency.strip().lower()
    places = exponent(code)
    number = f"{Decimal(abs(int(amount))).scaleb(-places):,.{places}f}"
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol is not None else f"{sign}{number} {code.upper()}"


def decimal_amount(amount: int, currency: str) -> Decimal:
    """Minor units as an exact signed decimal for files (-1234.56; 500 for JPY): written with
    no symbol and no thousands separators, a spreadsheet reads it as a number; the currency
    goes in its own column."""
    return Decimal(int(amount)).scaleb(-exponent(currency))


def parse_amount(text: str, currency: str, *, allow_zero: bool = False) -> int:
    """Parse a typed amount in major units ("1,234.56", "$1234.5", " 12.30 ") into minor units.

    Refuses rather than guesses: negative or zero amounts (zero only with `allow_zero`),
    exponents, more decimals than the currency has, grouping that is not in threes, symbols
    that belong to another currency, and anything above MAX_MAJOR_AMOUNT. Trailing zeros are
    fine ("12.500" is 12.50) because they do not change the value.
    """
    code = validate_currency(currency)
    if not isinstance(text, str):
        raise MoneyError(f"Amount must be text such as 12.50, not {type(text).__name__}.")
    shown = text.strip()
    if not shown:
        raise MoneyError("An amount is required, for example 125.00.")
    if has_control_chars(shown):
        raise MoneyError("The amount contains a control character or NUL byte; type it again.")
    if "-" in shown or (shown.startswith("(") and shown.endswith(")")):
        raise MoneyError(_signed(shown, code, allow_zero=allow_zero))
    number = _strip_symbol(shown, code)
    value = _to_decimal(number, shown)
    return _to_minor(value, code, shown, allow_zero=allow_zero)


def _signed(shown: str, code: str, *, allow_zero: bool) -> str:
    """The refusal of an amount written with a minus sign or in brackets. "-0" was called
    negative ("'-0' is negative; enter it as a positive amount"), which zero is not."""
    bare = shown.replace("-", "").strip().removeprefix("(").removesuffix(")").strip()
    try:
        zero = _to_decimal(_strip_symbol(bare, code), shown) == 0
    except MoneyError:
        zero = False
    if not zero:
        return f"'{shown}' is negative; enter it as a positive amount."
    if allow_zero:
        return f"'{shown}' is zero written with a minus sign; type 0 without it."
    return f"'{shown}' is zero; enter an amount greater than zero."


def _strip_symbol(shown: str, code: str) -> str:
    if shown.startswith("+"):
        shown = shown[1:].lstrip()
    symbol = shown[:1]
    if symbol not in _SYMBOLS:
        return shown
    if code not in _SYMBOLS[symbol]:
        raise MoneyError(f"'{shown}' uses the symbol {symbol}, but the currency is {code.upper()}.")
    return shown[1:].strip()


def _to_decimal(number: str, shown: str) -> Decimal:
    if not (_PLAIN_NUMBER.fullmatch(number) or _GROUPED_NUMBER.fullmatch(number)):
        raise MoneyError(
            f"'{shown}' is not an amount; write digits with an optional decimal point, "
            "like 1234.56 or 1,234.56."
        )
    try:
        return Decimal(number.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the patterns above admit only digits
        raise MoneyError(f"'{shown}' is not an amount.") from exc


def _to_minor(value: Decimal, code: str, shown: str, *, allow_zero: bool) -> int:
    if value > MAX_MAJOR_AMOUNT:
        raise MoneyError(
            f"'{shown}' is larger than the {MAX_MAJOR_AMOUNT:,} {code.upper()} limit; "
            "check for a missing decimal point or a pasted account number."
        )
    places = exponent(code)
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        unit = "no decimal places" if places == 0 else f"at most {places} decimal places"
        raise MoneyError(f"'{shown}' has too many decimals: {code.upper()} amounts have {unit}.")
    if minor == 0 and not allow_zero:
        raise MoneyError(f"'{shown}' is zero; enter an amount greater than zero.")
    return int(minor)


# "1.000,50", "1 000,50", "1000,50", "12,5": a comma as the decimal mark (one or two digits
# after it), with dots or spaces grouping the thousands, as much of Europe writes amounts.
_DECIMAL_COMMA = re.compile(
    r"([$€£¥]?)\s*(\d{1,3}(?:([. ])\d{3})(?:\3\d{3})*|\d+),(\d{1,2})"
)


# "1.000", "25.000", "1.000.000": dots between groups of three digits, as much of Europe writes
# whole thousands. One such dot also reads as a decimal point with a third, zero place.
_DOT_THOUSANDS = re.compile(r"([$€£¥]?)\s*(\d{1,3})((?:\.\d{3})+)")


def parse_unambiguous_amount(text: str, currency: str, *, allow_zero: bool = False) -> int:
    """:func:`parse_amount`, refusing what only a guess could read, for every box and file a
    person types amounts into (the batch CSV, Balance check): "1.000" read as $1.00 would vouch
    for a debit of $1,000, and "1.000,50" (a decimal comma) gets its own sentence rather than the
    generic "not an amount". Those raise :class:`MisreadAmount`; anything else wrong raises
    MoneyError as :func:`parse_amount` does."""
    if not isinstance(text, str):
        return parse_amount(text, currency, allow_zero=allow_zero)  # its sentence: amounts are text
    shown = text.strip()
    grouped = _DOT_THOUSANDS.fullmatch(shown)
    if grouped is not None and exponent(currency) < 3:
        symbol, head, groups = grouped.groups()
        thousands = f"{symbol}{head}{groups.replace('.', '')}.00"
        if groups.count(".") > 1:
            raise MisreadAmount(
                f"'{shown}' uses dots between thousands, but fcops reads a dot as the decimal "
                f"mark. Write it as {thousands}."
            )
        if _reads(shown, currency):  # else "too many decimals" says what is wrong
            decimal = f"{symbol}{head}.{groups[1:3]}"
            raise MisreadAmount(
                f"'{shown}' could be read two ways: with a dot between thousands (as much of "
                f"Europe writes it) it is {thousands}; with a decimal dot it is {decimal}. "
                f"Write {thousands} or {decimal}, so it cannot be misread."
            )
    try:
        return parse_amount(text, currency, allow_zero=allow_zero)
    except MoneyError:
        written = _DECIMAL_COMMA.fullmatch(shown)
        if written is None or not _symbol_fits(written.group(1), currency):
            raise  # another currency's symbol: that sentence comes first
        whole = re.sub(r"[. ]", "", written.group(2))
        raise MisreadAmount(
            f"'{shown}' uses a comma as the decimal mark, but fcops reads a dot as the decimal "
            f"mark (a comma only separates thousands). Write it as "
            f"{written.group(1)}{whole}.{written.group(4)}."
        ) from None


def _reads(text: str, currency: str) -> bool:
    try:
        parse_amount(text, currency)
    except MoneyError:
        return False
    return True


def _symbol_fits(symbol: str, currency: str) -> bool:
    try:
        parse_amount(f"{symbol}1", currency)
    except MoneyError:
        return False
    return True
