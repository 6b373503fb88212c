"""Checks on a case's identifiers and contacts, run after a cell is parsed.

Each check returns the value to keep (normalised where the check knows a canonical form) or
raises FieldError with a message the operator can act on. A layout decides per field whether a
failed check rejects the row or only warns (`"check": "reject"` or `"warn"` in its columns).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils.translation import gettext as _
from stdnum.exceptions import ValidationError as NumberError
from stdnum.it import codicefiscale, iva

from imports.parsers import FieldError

PERSON_CODE_LENGTH = 16
VAT_NUMBER_LENGTH = 11
ITALY = 39

_validate_email = EmailValidator()


class CheckPolicy(models.TextChoices):
    REJECT = "reject"
    WARN = "warn"


# The policy of a field whose layout column says nothing. Tax codes only warn: files from
# creditors carry codes typed by hand decades ago, and refusing them would block whole cases.
DEFAULT_POLICIES: dict[str, CheckPolicy] = {
    "tax_code": CheckPolicy.WARN,
    "phone": CheckPolicy.WARN,
    "mobile": CheckPolicy.WARN,
    "email": CheckPolicy.WARN,
}


def check_tax_code(value: str, birth_date: date | None = None) -> str:
    """A codice fiscale (check character, omocodia) agreeing with the birth date, or a
    partita IVA (check digit)."""
    if len(value) == PERSON_CODE_LENGTH:
        try:
            codicefiscale.validate(value)
        except NumberError as exc:
            raise FieldError(
                _("'%(value)s' is not a valid codice fiscale; check it against the debtor's card")
                % {"value": value}
            ) from exc
        if birth_date is not None:
            _check_birth_date(value, birth_date)
        return value
    if len(value) == VAT_NUMBER_LENGTH and value.isascii() and value.isdigit():
        try:
            iva.validate(value)
        except NumberError as exc:
            raise FieldError(
                _("'%(value)s' is not a valid partita IVA; check its digits") % {"value": value}
            ) from exc
        return value
    raise FieldError(
        _("'%(value)s' is neither a codice fiscale (16 characters) nor a partita IVA (11 digits)")
        % {"value": value}
    )


def _check_birth_date(value: str, birth_date: date) -> None:
    # The code keeps two digits of the year: read it in the century of the given date.
    century = birth_date.year - birth_date.year % 100
    from_code = codicefiscale.get_birth_date(value, minyear=century)
    if from_code != birth_date:
        raise FieldError(
            _(
                "the codice fiscale '%(value)s' gives the birth date %(code_date)s, but the "
                "file gives %(file_date)s; correct one of the two"
            )
            % {
                "value": value,
                "code_date": from_code.strftime("%d/%m/%Y"),
                "file_date": birth_date.strftime("%d/%m/%Y"),
            }
        )


def check_phone(value: str) -> str:
    """An Italian or international phone number, in E.164 form ("+390612345678")."""
    number = _italian_number(value)
    if number is None:
        try:
            number = phonenumbers.parse(value, "IT")
        except phonenumbers.NumberParseException as exc:
            raise FieldError(_("'%(value)s' is not a phone number") % {"value": value}) from exc
    # Italy's own rules first: +39 is shared with the Vatican, whose rules only run when needed.
    valid = phonenumbers.is_valid_number_for_region(number, "IT")
    if not (valid or phonenumbers.is_valid_number(number)):
        raise FieldError(
            _("'%(value)s' is not a valid phone number; check its digits and prefix")
            % {"value": value}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _italian_number(value: str) -> phonenumbers.PhoneNumber | None:
    """The number of a plain Italian landline or mobile ("06 1234 5678", "3331234567").

    Such numbers are most of a portfolio's, and building them directly halves the time
    phonenumbers.parse would take; it gives the same number for them.
    """
    digits = "".join(value.split())
    if not (digits.isascii() and digits.isdigit()):
        return None
    if digits[0] == "3" or (digits[0] == "0" and digits[1:2] != "0"):
        return phonenumbers.PhoneNumber(
            country_code=ITALY, national_number=int(digits), italian_leading_zero=digits[0] == "0"
        )
    return None


def check_email(value: str) -> str:
    """An e-mail address, lower-cased."""
    address = value.strip().lower()
    try:
        _validate_email(address)
    except ValidationError as exc:
        raise FieldError(_("'%(value)s' is not a valid e-mail address") % {"value": value}) from exc
    return address


# The checks of the fields that take a single value; the tax code also needs the birth date.
VALUE_CHECKS: dict[str, Callable[[str], str]] = {
    "phone": check_phone,
    "mobile": check_phone,
    "email": check_email,
}
