"""Data table: spending categories with their merchants, and the payees of bills."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    weight: float
    low: int  # dollars
    high: int
    merchants: tuple[str, ...]  # "{n}" = a store number fixed per account


PERSONAL_SPEND = (
    Category(22, 18, 160, ("TRADER JOE'S #{n3}", "SAFEWAY #{n4}", "KROGER #{n3}", "WHOLEFDS MKT {n5}",
                            "COSTCO WHSE #{n4}", "ALDI {n5}", "PUBLIX #{n4}", "H-E-B #{n3}")),
    Category(10, 25, 75, ("SHELL OIL {n5}", "CHEVRON {n7}", "EXXONMOBIL {n4}", "BP#{n7}",
                           "SPEEDWAY {n5}", "COSTCO GAS #{n4}", "76 - {n7}")),
    Category(18, 12, 85, ("SQ *TACOS EL GORDO", "TST* SWEETGREEN {n3}", "CHIPOTLE {n4}",
                           "MCDONALD'S F{n5}", "PANERA BREAD #{n6}", "DOORDASH*CHIPOTLE",
                           "UBER *EATS", "GRUBHUB*THAIBASIL", "OLIVE GARDEN {n4}", "SQ *THE DAILY GRIND")),
    Category(12, 3, 11, ("STARBUCKS STORE {n5}", "DUNKIN #{n6}", "SQ *BLUE BOTTLE COFFEE",
                          "PEET'S COFFEE {n5}", "SQ *RITUAL COFFEE")),
    Category(15, 9, 190, ("AMAZON MKTPLACE PMTS", "AMZN Mktp US*{code}", "TARGET {n8}", "WAL-MART #{n4}",
                           "BEST BUY {n8}", "THE HOME DEPOT #{n4}", "TJ MAXX #{n4}", "ETSY.COM*{code}")),
    Category(5, 8, 80, ("CVS/PHARMACY #{n5}", "WALGREENS #{n5}", "RITE AID {n5}")),
    Category(8, 8, 42, ("UBER *TRIP", "LYFT *RIDE", "CLIPPER SYSTEMS", "MTA*NYCT PAYGO", "PARKWHIZ")),
    Category(4, 10, 75, ("AMC {n4}", "TICKETMASTER", "STEAMGAMES.COM 4259522985", "AUDIBLE*{code}")),
    Category(3, 15, 140, ("VENMO PAYMENT {n10}", "CASH APP*{name}")),
)  # fmt: skip


BUSINESS_SPEND = (
    Category(20, 40, 900, ("AMAZON BUSINESS", "ULINE *SHIP SUPPLIES", "STAPLES {n5}", "COSTCO WHSE #{n4}",
                            "THE HOME DEPOT #{n4}", "GRAINGER {n6}")),
    Category(12, 25, 600, ("GOOGLE *ADS{n10}", "FACEBK *{code}", "YELP ADS", "LINKEDIN *JOBS")),
    Category(8, 12, 150, ("SQ *THE DAILY GRIND", "CHIPOTLE {n4}", "DOORDASH*PANERA")),
    Category(8, 30, 90, ("SHELL OIL {n5}", "CHEVRON {n7}", "EXXONMOBIL {n4}")),
    Category(6, 100, 2_500, ("ACH DEBIT SUPPLIER {name} INV", "WIRE OUT {name} SUPPLY")),
)  # fmt: skip


RENT = ("AVALON COMMUNITIES RENT", "GREYSTAR RE RENT PMT", "EQUITY RESIDENTIAL WEB PMT",
         "APPFOLIO RENT {n6}", "BILT RENT PMT", "ZILLOW RENT PMT")  # fmt: skip


MORTGAGE = ("ROCKET MORTGAGE PMT", "MR COOPER MTG PMT", "PENNYMAC LOAN SVC PMT", "FREEDOM MTG PMT")


UTILITIES = ("PG&E WEB ONLINE", "CON ED OF NY", "DUKE ENERGY PAYMENT", "COMED PAYMENT",
              "GEORGIA POWER", "XCEL ENERGY PMT", "SOCALGAS PAID")  # fmt: skip


INTERNET = (
    ("COMCAST XFINITY", 8_999),
    ("SPECTRUM", 7_499),
    ("VERIZON FIOS", 6_499),
    ("AT&T INTERNET", 5_500),
)


MOBILE = (("VERIZON WIRELESS", 14_500), ("T-MOBILE POSTPAID", 9_000), ("AT&T MOBILITY", 11_200),
           ("MINT MOBILE", 3_000))  # fmt: skip


SUBSCRIPTIONS = (("NETFLIX.COM", 1_549), ("SPOTIFY USA", 1_199), ("HULU 877-8244858", 1_799),
                  ("APPLE.COM/BILL", 299), ("AMAZON PRIME*{code}", 1_499), ("DISNEY PLUS", 1_399),
                  ("YOUTUBE PREMIUM", 1_399), ("PLANET FITNESS", 2_499), ("NYTIMES DIGITAL", 1_700),
                  ("PELOTON MEMBERSHIP", 4_400))  # fmt: skip


INSURANCE = ("GEICO AUTO", "STATE FARM INSURANCE", "PROGRESSIVE INS", "ALLSTATE PAYMENT")


LOANS = (
    "TOYOTA FINANCIAL SVC",
    "HONDA FINANCIAL",
    "ALLY AUTO PMT",
    "NELNET STUDENT LN",
    "MOHELA STUDENT LN",
)


FRIENDS = ("MARIA G", "JOHN D", "PRIYA S", "KEVIN L", "AMIR H", "SARAH K", "DMITRI P", "ANA R")


def fill_descriptor(template: str, rng: random.Random) -> str:
    """Fix the variable parts of a merchant descriptor (store numbers, reference codes)."""
    out = template
    for width in (10, 8, 7, 6, 5, 4, 3):
        out = out.replace(f"{{n{width}}}", str(rng.randrange(10 ** (width - 1), 10**width)))
    if "{code}" in out:
        out = out.replace(
            "{code}", "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(9))
        )
    return out.replace("{name}", rng.choice(FRIENDS))
