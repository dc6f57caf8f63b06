"""Citizen identity numbers: the 12-digit CCCD and the older 9-digit CMT."""

from __future__ import annotations

from datetime import date

# Province codes of the CCCD's first three digits (Circular 07/2016/TT-BCA).
PROVINCE_CODES = frozenset(
    [
        "001",
        "002",
        "004",
        "006",
        "008",
        "010",
        "011",
        "012",
        "014",
        "015",
        "017",
        "019",
        "020",
        "022",
        "024",
        "025",
        "026",
        "027",
        "030",
        "031",
        "033",
        "034",
        "035",
        "036",
        "037",
        "038",
        "040",
        "042",
        "044",
        "045",
        "046",
        "048",
        "049",
        "051",
        "052",
        "054",
        "056",
        "058",
        "060",
        "062",
        "064",
        "066",
        "067",
        "068",
        "070",
        "072",
        "074",
        "075",
        "077",
        "079",
        "080",
        "082",
        "083",
        "084",
        "086",
        "087",
        "089",
        "091",
        "092",
        "093",
        "094",
        "095",
        "096",
    ]
)
# Fourth digit: century of birth and gender (even = male, odd = female).
_CENTURY_BASE = {0: 1900, 2: 2000, 4: 2100, 6: 2200, 8: 1800}


def century_gender_digit(birth_year: int, gender: str) -> int | None:
    """The digit a CCCD must carry for this birth year and gender."""
    for digit, base in _CENTURY_BASE.items():
        if base <= birth_year < base + 100:
            return digit + (1 if gender == "female" else 0)
    return None


def citizen_id_errors(citizen_id: str, date_of_birth: date, gender: str) -> list[str]:
    """Codes of what is wrong with this citizen ID for this person; empty when it is fine."""
    if not citizen_id.isascii() or not citizen_id.isdigit() or len(citizen_id) not in (9, 12):
        return ["citizen_id_format"]
    if len(citizen_id) == 9:
        return []
    errors = []
    if citizen_id[:3] not in PROVINCE_CODES:
        errors.append("citizen_id_province")
    if int(citizen_id[3]) != century_gender_digit(date_of_birth.year, gender):
        errors.append("citizen_id_gender_century")
    if citizen_id[4:6] != f"{date_of_birth.year % 100:02d}":
        errors.append("citizen_id_birth_year")
    return errors
