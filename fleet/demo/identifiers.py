"""Valid, unique Chinese identifiers drawn from a seeded generator.

Each ``Identifiers`` instance remembers what it handed out, so plates, VINs, credit codes, ID
numbers and SIM numbers never repeat within one demo city. Check characters come from
``fleet.validators``, so what is generated here is exactly what the registry accepts.
"""

from __future__ import annotations

import datetime as dt
import random
import string
from collections.abc import Callable

from fleet import validators

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # no I, O or Q
# Model-year code (VIN position 10) for 2016–2024.
VIN_YEARS = {2016: "G", 2017: "H", 2018: "J", 2019: "K", 2020: "L", 2021: "M", 2022: "N",
             2023: "P", 2024: "R"}
# World manufacturer identifiers of makers common in each fleet (public WMI assignments).
WMI_BY_KIND: dict[str, tuple[str, ...]] = {
    "taxi": ("LFV", "LSV", "LGX", "LDC", "LVV"),
    "ride_hailing": ("LGX", "LFV", "LB3", "LSV", "LGW"),
    "bus": ("LZY", "LKL", "LGX", "LA6"),
    "coach": ("LZY", "LKL", "LA6", "LGG"),
    "hazmat": ("LZZ", "LFW", "LGA", "LFN", "LZG"),
    "heavy_truck": ("LZZ", "LFW", "LGA", "LFN", "LZG"),
}
MOBILE_PREFIXES = ("130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150",
                   "151", "152", "155", "156", "157", "158", "159", "180", "182", "183", "185",
                   "186", "187", "188", "189", "177", "199")
# GB/T 2260 areas for drivers' ID numbers: mostly Panjin, some elsewhere in Liaoning and beyond.
ID_AREAS = (("211102", 18), ("211103", 26), ("211104", 16), ("211122", 16), ("210102", 4),
            ("210302", 3), ("210702", 4), ("210802", 3), ("211002", 3), ("230102", 2),
            ("130102", 2), ("370102", 2), ("220102", 1))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation code check


def org_code_check(body8: str) -> str:
    total = sum(int(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


class Identifiers:
    """Seeded source of unique identifiers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._used: set[str] = set()
        self._id_areas = [area for area, _ in ID_AREAS]
        self._id_weights = [weight for _, weight in ID_AREAS]

    def _unique(self, draw: Callable[[], str]) -> str:
        for _ in range(10_000):
            value = draw()
            if value not in self._used:
                self._used.add(value)
                return value
        raise RuntimeError("identifier space exhausted; lower the scale")

    def _digits(self, n: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(n))

    def plate(self, *, new_energy: bool = False, large: bool = False) -> str:
        """A Panjin plate (辽L): 7 characters, or 8 for new-energy vehicles."""
        rng = self.rng

        def draw() -> str:
            if new_energy and large:  # large new-energy: five digits then D/F
                return "辽L" + self._digits(5) + rng.choice("DF")
            if new_energy:  # small new-energy: D/F, letter or digit, four digits
                return "辽L" + rng.choice("DF") + rng.choice(PLATE_LETTERS + string.digits) \
                    + self._digits(4)
            pattern = rng.choice(("DDDDD", "LDDDD", "DLDDD", "DDLDD", "LLDDD"))
            return "辽L" + "".join(rng.choice(PLATE_LETTERS) if c == "L"
                                   else rng.choice(string.digits) for c in pattern)

        return self._unique(draw)

    def trailer_plate(self) -> str:
        """Semi-trailer plate: 辽L, four letters or digits, 挂."""
        rng = self.rng

        def draw() -> str:
            pattern = rng.choice(("LDDD", "DDDD", "LLDD"))
            return "辽L" + "".join(rng.choice(PLATE_LETTERS) if c == "L"
                                   else rng.choice(string.digits) for c in pattern) + "挂"

        return self._unique(draw)

    def vin(self, kind: str, year: int) -> str:
        rng = self.rng

        def draw() -> str:
            body = (rng.choice(WMI_BY_KIND[kind])
                    + "".join(rng.choice(VIN_ALPHABET) for _ in range(5)) + "0"
                    + VIN_YEARS[year] + rng.choice(VIN_ALPHABET) + self._digits(6))
            return body[:8] + validators.vin_check_character(body) + body[9:]

        return self._unique(draw)

    def credit_code(self, area: str) -> str:
        """Unified social credit code (GB 32100): 91 + area + organisation code + check."""

        def draw() -> str:
            body8 = self._digits(8)
            first17 = "91" + area + body8 + org_code_check(body8)
            return first17 + validators.uscc_check_character(first17)

        return self._unique(draw)

    def id_number(self, birth: dt.date, *, male: bool) -> str:
        """Resident ID number (GB 11643): area, birth date, sequence (odd = male), check."""
        rng = self.rng

        def draw() -> str:
            area = rng.choices(self._id_areas, weights=self._id_weights)[0]
            sequence = rng.randrange(0, 500) * 2 + (1 if male else 0)
            first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
            return first17 + validators.id_check_character(first17)

        return self._unique(draw)

    def mobile(self) -> str:
        return self._unique(lambda: self.rng.choice(MOBILE_PREFIXES) + self._digits(8))

    def landline(self) -> str:
        return self._unique(lambda: "0427-" + self.rng.choice("2345678") + self._digits(6))

    def sim_number(self) -> str:
        """12-digit terminal number: the SIM's 11-digit number padded with a leading zero."""
        return self._unique(lambda: "0" + self.rng.choice(("144", "145", "147", "148"))
                            + self._digits(8))

    def code(self, length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
        return self._unique(lambda: "".join(self.rng.choice(alphabet) for _ in range(length)))
