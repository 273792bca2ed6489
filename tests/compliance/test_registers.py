"""Intermediary register numbers and company numbers, as compliance checks them when a firm is onboarded."""
import pytest

from compliance.errors import InvalidRegistration
from compliance.registers import check_company_number, check_registration


@pytest.mark.parametrize("register, given, stored", [
    ("orias", "07012345", "07012345"),
    ("orias", " 0701 2345 ", "07012345"),      # spaces as printed on the ORIAS certificate
    ("fca", "123456", "123456"),
    ("fca", "1234567", "1234567"),
    ("ivass_rui", "B000123456", "B000123456"),
    ("ivass_rui", "e 000 123 456", "E000123456"),
    ("dgsfp", "J1234", "J1234"),
    ("dgsfp", "j1234b12345678", "J1234B12345678"),
    ("other", "HR-123/45", "HR-123/45"),
])
def test_a_valid_number_is_accepted_and_normalised(register, given, stored):
    assert check_registration(register, given, broker=True) == stored


@pytest.mark.parametrize("register, number", [
    ("orias", "0701234"),          # 7 digits
    ("orias", "070123456"),        # 9 digits
    ("orias", "0701234A"),
    ("orias", "ORIAS07012345"),
    ("fca", "12345"),
    ("fca", "12345678"),
    ("fca", "FRN123456"),
    ("ivass_rui", "F000123456"),   # sections are A to E
    ("ivass_rui", "B00012345"),    # 8 digits
    ("ivass_rui", "B0001234567"),  # 10 digits
    ("ivass_rui", "000123456B"),
    ("dgsfp", "1234"),
    ("dgsfp", "JJ1234"),
    ("dgsfp", "J123"),
    ("dgsfp", "J1234-B"),
    ("other", "?"),
])
def test_an_invalid_number_is_refused_with_the_expected_format(register, number):
    with pytest.raises(InvalidRegistration) as refused:
        check_registration(register, number, broker=True)
    assert "registration_number" in refused.value.fields


@pytest.mark.parametrize("register", ["orias", "fca", "ivass_rui", "dgsfp", "other"])
def test_a_register_without_a_number_is_refused(register):
    for number in (None, "", "   "):
        with pytest.raises(InvalidRegistration) as refused:
            check_registration(register, number, broker=False)
        assert "registration_number" in refused.value.fields


def test_an_unknown_register_is_refused():
    with pytest.raises(InvalidRegistration) as refused:
        check_registration("naic", "12345678", broker=True)
    assert "register" in refused.value.fields


def test_a_broker_must_be_registered():
    for register, number in ((None, None), ("", ""), (None, "07012345")):
        with pytest.raises(InvalidRegistration) as refused:
            check_registration(register, number, broker=True)
        assert "register" in refused.value.fields


def test_an_introducer_needs_no_register():
    assert check_registration(None, None, broker=False) is None
    assert check_registration("", "  ", broker=False) is None


def test_an_introducer_that_names_a_register_is_checked_like_anyone():
    assert check_registration("orias", "07012345", broker=False) == "07012345"
    with pytest.raises(InvalidRegistration):
        check_registration("orias", "123", broker=False)


@pytest.mark.parametrize("country, given, stored", [
    ("FR", "732829320", "732829320"),             # SIREN
    ("FR", "732 829 320", "732829320"),
    ("FR", "73282932000074", "73282932000074"),   # SIRET
    ("ES", "J99216582", "J99216582"),             # CIF
    ("IT", "00743110157", "00743110157"),         # partita IVA
])
def test_a_valid_company_number_is_accepted(country, given, stored):
    assert check_company_number(country, given) == stored


@pytest.mark.parametrize("country, number", [
    ("FR", "732829321"),           # SIREN with a wrong check digit
    ("FR", "73282932"),
    ("FR", "RCS Paris 732 829 320 X"),
    ("ES", "J99216583"),
    ("IT", "00743110158"),
])
def test_an_invalid_company_number_is_refused(country, number):
    with pytest.raises(InvalidRegistration) as refused:
        check_company_number(country, number)
    assert "company_number" in refused.value.fields


@pytest.mark.parametrize("country, given, stored", [
    ("GB", "01234567", "01234567"),
    ("AE", "CN-1234567", "CN-1234567"),
    ("US", " 12-3456789 ", "12-3456789"),
])
def test_a_company_number_from_a_country_without_a_known_scheme_is_kept_as_given(country, given, stored):
    assert check_company_number(country, given) == stored


def test_no_company_number_is_none():
    for empty in (None, "", "   "):
        assert check_company_number("FR", empty) is None
