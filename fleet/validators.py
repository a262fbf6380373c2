"""Validators for Chinese identifiers used throughout the registry.

Each validator raises ``django.core.exceptions.ValidationError`` with a code, so forms, the API and
the spreadsheet importer report the same reason. The pure check functions (``is_valid_*``) are
usable outside Django (the simulator, the gateway).
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# Letters I and O are never used on plates (confusable with 1 and 0).
_PLATE_LETTER = "A-HJ-NP-Z"
_CONVENTIONAL_PLATE = re.compile(
    rf"^[{PROVINCE_ABBREVIATIONS}][{_PLATE_LETTER}][{_PLATE_LETTER}0-9]{{4}}"
    rf"[{_PLATE_LETTER}0-9挂学警港澳]$"
)
# New-energy plates have 8 characters: D/F (battery/hybrid) first for small cars, last for large.
_NEW_ENERGY_PLATE = re.compile(
    rf"^[{PROVINCE_ABBREVIATIONS}][{_PLATE_LETTER}]"
    rf"(?:[DF][{_PLATE_LETTER}0-9][0-9]{{4}}|[0-9]{{5}}[DF])$"
)

# Plate colour codes as used in JT/T 808 register messages (JT/T 697.7): 1 blue, 2 yellow,
# 3 black, 4 white, 9 other; 5 and 6 are the new-energy green plates.
NEW_ENERGY_COLOURS = frozenset({5, 6})


def normalise_plate(plate: str) -> str:
    return plate.strip().upper().replace(" ", "").replace("·", "").replace("-", "")


def is_valid_plate(plate: str) -> bool:
    return bool(_CONVENTIONAL_PLATE.match(plate) or _NEW_ENERGY_PLATE.match(plate))


def validate_plate(plate: str) -> None:
    if not is_valid_plate(normalise_plate(plate)):
        raise ValidationError(_("车牌号码格式不正确：%(plate)s"), code="bad_plate",
                              params={"plate": plate})


def validate_plate_matches_colour(plate: str, colour: int) -> None:
    plate = normalise_plate(plate)
    new_energy_plate = bool(_NEW_ENERGY_PLATE.match(plate))
    if new_energy_plate != (colour in NEW_ENERGY_COLOURS):
        raise ValidationError(
            _("车牌颜色与号码不符：新能源号牌（8位）须为绿色，其他号牌不能为绿色"),
            code="plate_colour_mismatch",
        )


# GB 32100-2015 unified social credit code: 18 characters from a 31-symbol alphabet.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    return uscc_check_character(code[:17]) == code[17]


def validate_credit_code(code: str) -> None:
    if len(code) != 18:
        raise ValidationError(_("统一社会信用代码应为18位"), code="bad_credit_code_length")
    if any(c not in USCC_ALPHABET for c in code):
        raise ValidationError(_("统一社会信用代码含有非法字符"), code="bad_credit_code_chars")
    if uscc_check_character(code[:17]) != code[17]:
        raise ValidationError(_("统一社会信用代码校验位错误"), code="bad_credit_code_check")


# GB 11643-1999 resident identity number: 6-digit area, 8-digit birth date, 3-digit sequence,
# check character (0-9 or X).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(number: str) -> bool:
    try:
        validate_id_number(number)
    except ValidationError:
        return False
    return True


def validate_id_number(number: str) -> None:
    if len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        raise ValidationError(_("身份证号码应为18位（末位可为X）"), code="bad_id_format")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError(_("身份证号码中的出生日期无效"), code="bad_id_birth") from None
    if birth.year < 1900 or birth > dt.date.today():
        raise ValidationError(_("身份证号码中的出生日期无效"), code="bad_id_birth")
    if id_check_character(number[:17]) != number[17]:
        raise ValidationError(_("身份证号码校验位错误"), code="bad_id_check")


def mask_id_number(number: str) -> str:
    return number[:6] + "********" + number[-4:] if len(number) == 18 else "******"


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "****"


# ISO 3779 / GB 16735 vehicle identification number with the position-9 check digit.
_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
               **dict(zip("JKLMN", range(1, 6), strict=True)), "P": 7, "R": 9,
               **dict(zip("STUVWXYZ", range(2, 10), strict=True))}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_character(vin: str) -> str:
    remainder = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(vin: str) -> None:
    if len(vin) != 17 or any(c not in _VIN_VALUES for c in vin):
        raise ValidationError(_("车辆识别代号应为17位字母数字（不含I、O、Q）"), code="bad_vin")
    if vin_check_character(vin) != vin[8]:
        raise ValidationError(_("车辆识别代号第9位校验位错误"), code="bad_vin_check")


_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")


def validate_phone(phone: str) -> None:
    if not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        raise ValidationError(_("电话号码格式不正确"), code="bad_phone")


_SIM = re.compile(r"^[0-9]{11,20}$")


def validate_sim_number(number: str) -> None:
    """The terminal phone/SIM number carried in JT/T 808 headers (12 BCD digits, 20 in 2019)."""
    if not _SIM.match(number):
        raise ValidationError(_("终端手机号（SIM卡号）应为11至20位数字"), code="bad_sim")


def canonical_sim(number: str) -> str:
    """Registry key for a terminal: digits without leading zeros (headers pad to 12 or 20)."""
    return number.lstrip("0") or "0"
