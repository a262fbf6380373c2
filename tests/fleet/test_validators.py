import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from fleet import validators
from fleet.models.registry import certificate_state


@pytest.mark.parametrize("plate", ["辽L12345", "辽LA1234", "京A12345", "辽LD12345", "辽L12345F",
                                   "辽L1234挂", "粤B8888学"])
def test_valid_plates(plate: str) -> None:
    validators.validate_plate(plate)


@pytest.mark.parametrize("plate", ["", "辽L1234", "辽L123456", "XL12345", "辽I12345",
                                   "辽LO1234", "辽L12345D6", "辽LX12345"])
def test_invalid_plates(plate: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validators.validate_plate(plate)
    assert exc.value.code == "bad_plate"


def test_plate_is_normalised_before_checking() -> None:
    validators.validate_plate(" 辽l·12345 ")


def test_new_energy_plate_needs_green_colour() -> None:
    validators.validate_plate_matches_colour("辽LD12345", 5)
    with pytest.raises(ValidationError):
        validators.validate_plate_matches_colour("辽LD12345", 2)
    with pytest.raises(ValidationError):
        validators.validate_plate_matches_colour("辽L12345", 5)


# Published example codes with correct check characters.
@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_credit_code_check_character(code: str) -> None:
    validators.validate_credit_code(code)
    assert validators.is_valid_credit_code(code)


@pytest.mark.parametrize(("code", "reason"), [
    ("91350100M000100Y44", "bad_credit_code_check"),
    ("91350100M000100Y4", "bad_credit_code_length"),
    ("91350100M000I00Y43", "bad_credit_code_chars"),  # I is not in the alphabet
])
def test_credit_code_rejected(code: str, reason: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validators.validate_credit_code(code)
    assert exc.value.code == reason


def test_credit_code_single_character_change_is_caught() -> None:
    good = "91350100M000100Y43"
    for position in range(17):
        for replacement in "0A":
            if good[position] == replacement:
                continue
            changed = good[:position] + replacement + good[position + 1:]
            assert not validators.is_valid_credit_code(changed)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524198001010013"])
def test_id_number_valid(number: str) -> None:
    validators.validate_id_number(number)


@pytest.mark.parametrize(("number", "reason"), [
    ("110105194912310021", "bad_id_check"),
    ("11010519491331002X", "bad_id_birth"),   # month 13
    ("1101051949123100", "bad_id_format"),
    ("11010519491231002x", "bad_id_format"),  # lower-case x is not the standard form
])
def test_id_number_rejected(number: str, reason: str) -> None:
    with pytest.raises(ValidationError) as exc:
        validators.validate_id_number(number)
    assert exc.value.code == reason


def test_vin_check_digit() -> None:
    validators.validate_vin("1M8GDM9AXKP042788")  # the classic ISO 3779 example
    with pytest.raises(ValidationError) as exc:
        validators.validate_vin("1M8GDM9A1KP042788")
    assert exc.value.code == "bad_vin_check"
    with pytest.raises(ValidationError):
        validators.validate_vin("1M8GDM9AXKP04278O")


def test_masking() -> None:
    assert validators.mask_id_number("11010519491231002X") == "110105********002X"
    assert validators.mask_phone("13912345678") == "139****5678"


class TestCertificateState:
    valid_to = dt.date(2026, 6, 30)

    def state(self, on: dt.date) -> str:
        return certificate_state(None, self.valid_to, on)

    def test_valid_through_the_last_day(self) -> None:
        assert self.state(dt.date(2026, 6, 30)) == "valid"

    def test_expired_the_day_after(self) -> None:
        assert self.state(dt.date(2026, 7, 1)) == "expired"

    def test_expired_at_180_days(self) -> None:
        assert self.state(self.valid_to + dt.timedelta(days=180)) == "expired"

    def test_void_at_181_days(self) -> None:
        assert self.state(self.valid_to + dt.timedelta(days=181)) == "void"

    def test_not_yet_valid(self) -> None:
        assert certificate_state(dt.date(2027, 1, 1), dt.date(2030, 1, 1),
                                 dt.date(2026, 1, 1)) == "not_yet_valid"

    def test_void_threshold_is_a_setting(self, settings) -> None:
        settings.CERTIFICATE_VOID_AFTER_DAYS = 30
        assert self.state(self.valid_to + dt.timedelta(days=31)) == "void"
