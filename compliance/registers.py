"""Intermediary registers and the format of their numbers.

A broker status needs a number in a known register. Formats are checked where the register publishes one;
company numbers are checked with python-stdnum where it knows the country's scheme.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum import exceptions as stdnum_errors

from core.i18n import N_

from .errors import InvalidRegistration


@dataclass(frozen=True)
class RegisterFormat:
    pattern: re.Pattern
    example: str
    #: the country the register belongs to; None for "other"
    country: str | None


FORMATS = {
    # ORIAS: 8-digit immatriculation number (orias.fr)
    "orias": RegisterFormat(re.compile(r"^\d{8}$"), "07012345", "FR"),
    # FCA register: Firm Reference Number, 6 or 7 digits
    "fca": RegisterFormat(re.compile(r"^\d{6,7}$"), "123456", "GB"),
    # IVASS RUI: section letter A–E followed by 9 digits
    "ivass_rui": RegisterFormat(re.compile(r"^[A-E]\d{9}$"), "B000123456", "IT"),
    # DGSFP registry key: a letter followed by 4 digits, optionally a suffix (e.g. J1234, J1234B12345678)
    "dgsfp": RegisterFormat(re.compile(r"^[A-Z]\d{4}([A-Z0-9]{1,12})?$"), "J1234", "ES"),
    "other": RegisterFormat(re.compile(r"^[A-Z0-9][A-Z0-9./ -]{2,40}$"), "—", None),
}


def normalise(number: str) -> str:
    return re.sub(r"\s+", "", number or "").upper()


def check_registration(register: str | None, number: str | None, *, broker: bool) -> str | None:
    """The normalised number, or raise InvalidRegistration with a field message."""
    number = normalise(number or "")
    if not register:
        if broker:
            raise InvalidRegistration(
                N_("A broker must be registered: choose its register and enter its number."),
                fields={"register": [N_("Choose the register the firm is listed in.")]})
        return number or None
    fmt = FORMATS.get(register)
    if fmt is None:
        raise InvalidRegistration(N_("Unknown register."), field="register")
    if not number:
        raise InvalidRegistration(N_("Enter the registration number."), field="registration_number")
    if not fmt.pattern.match(number):
        raise InvalidRegistration(
            N_("This is not a valid number for this register (expected a format like %(example)s)."),
            field="registration_number", example=fmt.example)
    return number


# Company numbers python-stdnum can check, by country of establishment.
COMPANY_NUMBER_SCHEMES = {
    "FR": ("stdnum.fr.siren", "stdnum.fr.siret"),
    "ES": ("stdnum.es.cif", "stdnum.es.nif"),
    "IT": ("stdnum.it.iva", "stdnum.it.codicefiscale"),
    "BE": ("stdnum.be.vat",),
    "PT": ("stdnum.pt.nif",),
    "DE": ("stdnum.de.handelsregisternummer",),
}


def check_company_number(country: str, number: str | None) -> str | None:
    """Validate a company number where python-stdnum knows the scheme; other countries are kept as given."""
    if not number or not number.strip():
        return None
    schemes = COMPANY_NUMBER_SCHEMES.get(country)
    if not schemes:
        return number.strip()
    import importlib

    for name in schemes:
        module = importlib.import_module(name)
        try:
            return module.compact(module.validate(number))
        except stdnum_errors.ValidationError:
            continue
    raise InvalidRegistration(N_("This company number is not valid for the country of establishment."),
                              field="company_number")
