"""Checks on a case's identifiers, contacts and address, run after a cell is parsed.

Each check returns the value to keep (normalised where the check knows a canonical form) or
raises FieldError with a message the operator can act on. A layout decides per field whether a
failed check rejects the row or only warns (`"check": "reject"` or `"warn"` in its columns).

The address check is declared on the city column and reads the postcode and province too; it
fills a missing province from the comune, and changes nothing else the file gives.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils.translation import gettext as _
from schwifty import IBAN
from schwifty import exceptions as iban_errors
from stdnum.exceptions import ValidationError as NumberError
from stdnum.it import codicefiscale, iva

from core.places import Comune, normalise_postcode, places
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
# The address is checked only where the layout asks for it (None): a creditor whose files
# write districts or old comuni in the city column would otherwise get a warning on each case.
DEFAULT_POLICIES: dict[str, CheckPolicy | None] = {
    "tax_code": CheckPolicy.WARN,
    "phone": CheckPolicy.WARN,
    "mobile": CheckPolicy.WARN,
    "email": CheckPolicy.WARN,
    "iban": CheckPolicy.WARN,
    "city": None,
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


_IBAN_SEPARATORS = re.compile(r"[-.]")
_IBAN_LABEL = re.compile(r"^\s*IBAN\s*:?\s*", re.IGNORECASE)


def check_iban(value: str) -> str:
    """An IBAN with a known country, the right length and check digits (the national ones too,
    such as Italy's CIN), in compact form ("IT60X0542811101000000123456"). Hyphens or dots
    between the groups and an "IBAN" label in front, as files write them, are left out."""
    text = _IBAN_LABEL.sub("", _IBAN_SEPARATORS.sub(" ", value))
    try:
        with warnings.catch_warnings():
            # Countries whose national check digits schwifty cannot verify pass unverified.
            warnings.simplefilter("ignore", iban_errors.NationalChecksumNotVerified)
            return str(IBAN(text, validate_bban=True).compact)
    except iban_errors.InvalidCountryCode as exc:
        problem = _("its first two letters are not a country that uses IBANs")
        raise _iban_error(value, problem) from exc
    except iban_errors.InvalidLength as exc:
        problem = _("it has the wrong number of characters for its country")
        raise _iban_error(value, problem) from exc
    except iban_errors.InvalidChecksumDigits as exc:
        problem = _("its check digits do not match: a character is mistyped")
        raise _iban_error(value, problem) from exc
    except iban_errors.InvalidBBANChecksum as exc:
        problem = _("the national check character does not match: a character is mistyped")
        raise _iban_error(value, problem) from exc
    except iban_errors.SchwiftyException as exc:
        problem = _("its bank or account part is not in its country's format")
        raise _iban_error(value, problem) from exc


def _iban_error(value: str, problem: str) -> FieldError:
    return FieldError(
        _("'%(value)s' is not a valid IBAN: %(problem)s") % {"value": value, "problem": problem}
    )


def check_address(values: dict[str, Any]) -> dict[str, Any]:
    """Postcode, comune and province of a row agreeing with ISTAT's list of comuni.

    Returns the values to change: the province, when the file leaves it out and the comune
    tells it. Raises FieldError naming every disagreement. Missing values are not checked.
    """
    city, postcode = values.get("city") or "", values.get("postcode") or ""
    given = values.get("province") or ""
    province = places().province_of(given) if given else None
    if not city:
        return {}
    problems: list[str] = []
    if given and province is None:
        problems.append(
            _("'%(province)s' is not an Italian province; write its abbreviation, such as MI")
            % {"province": given}
        )
    comuni = places().find(city)
    if not comuni:
        problems.append(_unknown_comune(city))
        raise FieldError("; ".join(problems))
    comune = _the_comune(comuni, province, normalise_postcode(postcode) if postcode else "")
    if province and comune.province != province:
        problems.append(
            _("Comune %(comune)s is in province %(expected)s, not %(given)s")
            % {"comune": comune, "expected": _provinces_text(comuni), "given": province}
        )
    if postcode and not comune.has_postcode(normalise_postcode(postcode)):
        problems.append(
            _("Postcode %(postcode)s is not a postcode of %(comune)s (%(postcodes)s)")
            % {
                "postcode": normalise_postcode(postcode),
                "comune": comune,
                "postcodes": comune.postcodes_text(),
            }
        )
    if problems:
        raise FieldError("; ".join(problems))
    if province and province != given:
        return {"province": province}  # "Milano" becomes "MI"
    if not given and (len(comuni) == 1 or postcode):
        return {"province": comune.province}
    return {}


def _the_comune(comuni: tuple[Comune, ...], province: str | None, postcode: str) -> Comune:
    """Among namesakes (Samone TO and Samone TN), the one the province or postcode points to."""
    if len(comuni) > 1:
        for comune in comuni:
            if comune.province == province or (not province and comune.has_postcode(postcode)):
                return comune
    return comuni[0]


def _provinces_text(comuni: tuple[Comune, ...]) -> str:
    provinces = sorted({comune.province for comune in comuni})
    if len(provinces) == 1:
        return provinces[0]
    return _("%(some)s or %(last)s") % {"some": ", ".join(provinces[:-1]), "last": provinces[-1]}


def _unknown_comune(city: str) -> str:
    closest = places().closest(city)
    if closest is None:
        return _("Comune '%(city)s' not found in the ISTAT list; check its spelling") % {
            "city": city
        }
    return _("Comune '%(city)s' not found in the ISTAT list; did you mean %(closest)s?") % {
        "city": city,
        "closest": closest,
    }


# The checks of the fields that take a single value; the tax code also needs the birth date.
VALUE_CHECKS: dict[str, Callable[[str], str]] = {
    "phone": check_phone,
    "mobile": check_phone,
    "email": check_email,
    "iban": check_iban,
}

# The checks that read several fields of the row, by the field whose column declares them;
# each returns the values to change.
ROW_CHECKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "city": check_address,
}
