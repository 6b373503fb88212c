"""Turn one raw cell from `imports.readers` into a typed value, the Italian way.

Every parser raises `FieldError` for an empty cell (None), a spreadsheet error cell, or a value it
cannot read; callers decide beforehand whether an empty cell is acceptable. Messages never name
the row or the column: the caller prefixes them ("Row 12, column Importo: ...").

No float is used anywhere: amounts travel as int, Decimal or text from the reader to here.
"""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from imports.readers import Cell, CellError

__all__ = [
    "FieldError",
    "parse_amount",
    "parse_date",
    "parse_identifier",
    "parse_integer",
    "parse_postcode",
    "parse_text",
]


class FieldError(ValueError):
    """A cell that cannot be parsed; str(e) is the user-facing message without row or column."""


_CENTS = Decimal("0.01")
_SPACES = "\u00a0\u202f\u2009\u2007"  # non-breaking, narrow non-breaking, thin, figure
_MINUSES = "-\u2212\u2013"  # hyphen, minus sign, en dash (word processors' "minus")
_CURRENCY = re.compile(r"^(?:€|euro|eur)\s*|\s*(?:€|euro|eur)$", re.IGNORECASE)
# Italian: "." or a space groups thousands, "," starts the decimals.
_ITALIAN_AMOUNT = re.compile(
    r"(?P<int>\d{1,3}(?:\.\d{3})+|\d{1,3}(?: \d{3})+|\d+)(?:,(?P<dec>\d+))?", re.ASCII
)
# Only a single dot followed by one or two digits is unmistakably a decimal point; so is a dot
# after comma-grouped thousands ("1,234.56", as English-language systems export amounts).
_DOT_DECIMAL_AMOUNT = re.compile(r"(?P<int>\d+|\d{1,3}(?:,\d{3})+)\.(?P<dec>\d{1,2})", re.ASCII)

_DAY_FIRST_DATE = re.compile(
    r"(?P<day>\d{1,2})(?P<sep>[/.-])(?P<month>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})"
    r"(?:[ T](?:[01]?\d|2[0-3])[:.][0-5]\d(?:[:.][0-5]\d(?:[.,]\d+)?)?)?",
    re.ASCII,
)
_ISO_DATE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[ T](?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    re.ASCII,
)
_SERIAL_TEXT = re.compile(r"\d{5}", re.ASCII)
# "20250815" and "15082025", as bank and CBI exports write dates. Neither is a serial (five
# digits), and no text is both: the fifth and sixth digits of one are a month, of the other the
# 19 or 20 of a year.
_COMPACT_DATES = (
    re.compile(r"(?P<year>19\d\d|20\d\d)(?P<month>\d\d)(?P<day>\d\d)", re.ASCII),
    re.compile(r"(?P<day>\d\d)(?P<month>\d\d)(?P<year>19\d\d|20\d\d)", re.ASCII),
)
# Two-digit years up to this value are 20xx, the rest 19xx: due dates are recent or near future.
_TWO_DIGIT_YEAR_PIVOT = 69
# 1 is 01/01/1900 and 2958465 is 31/12/9999, the range Excel accepts.
_SERIAL_MIN, _SERIAL_MAX = 1, 2_958_465
_SERIAL_FAKE_LEAP_DAY = 60  # 29/02/1900, which never existed but Excel counts
_EXCEL_DAY_ZERO = datetime.date(1899, 12, 30)

# What Excel shows for a long number in a "General" column, e.g. "1,23457E+18": the digits that
# would make the identifier are already lost.
_SHORTENED_NUMBER = re.compile(r"\d[.,]\d+E\+?\d{1,3}", re.IGNORECASE | re.ASCII)
_POSTCODE = re.compile(r"\d{1,5}", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)


def parse_amount(value: Cell) -> Decimal:
    """An amount in euro with two decimals.

    Text is read the Italian way: "1.234,56", "1234,56", "€ 12,50", "12,50 €", "EUR 12,50",
    "-150,00", "150,00-", "(150,00)", "+5,00", with spaces or non-breaking spaces as thousands
    separators. A dot is a decimal point only when unambiguous ("1234.56": one dot, one or two
    digits after it, no comma; or "1,234.56", after comma-grouped thousands); "1.234" is one
    thousand two hundred thirty-four.
    """
    cell = _present(value)
    if isinstance(cell, int | Decimal):
        return _two_decimals(cell, _display(cell))
    if isinstance(cell, datetime.date):
        raise _not_an_amount(_display(cell))
    return _two_decimals(_amount_from_text(cell), cell)


def _amount_from_text(text: str) -> Decimal:
    body = text
    for space in _SPACES:
        body = body.replace(space, " ")
    body = body.strip()
    negative = False
    if body.startswith("(") and body.endswith(")"):
        negative = True
        body = body[1:-1].strip()
    sign = ""
    # Signs and the currency come in either order around the number: "-€ 5", "€ -5", "5 €-".
    for _pass in range(2):
        body = _CURRENCY.sub("", body).strip()
        if sign or not body:
            continue
        if body[0] in _MINUSES + "+":
            sign, body = body[0], body[1:].strip()
        elif body[-1] in _MINUSES:
            sign, body = body[-1], body[:-1].strip()
    if sign and negative:
        raise _not_an_amount(text)
    negative = negative or (sign != "" and sign != "+")
    match = _ITALIAN_AMOUNT.fullmatch(body) or _DOT_DECIMAL_AMOUNT.fullmatch(body)
    if match is None:
        raise _not_an_amount(text)
    digits = re.sub(r"[., ]", "", match["int"])
    amount = Decimal(f"{digits}.{match['dec'] or '0'}")
    return -amount if negative else amount


def _two_decimals(amount: int | Decimal, shown: str) -> Decimal:
    amount = Decimal(amount)
    if not amount.is_finite():
        raise _not_an_amount(shown)
    try:
        rounded = amount.quantize(_CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than Decimal's default 28
        raise _not_an_amount(shown) from None
    if rounded != amount:
        raise FieldError(_("'%(value)s' has more than two decimals") % {"value": shown})
    return abs(rounded) if rounded == 0 else rounded  # "-0,00" is simply zero


def _not_an_amount(shown: str) -> FieldError:
    return FieldError(_("'%(value)s' is not an amount") % {"value": shown})


def parse_date(value: Cell) -> datetime.date:
    """A calendar date.

    Text may be "dd/mm/yyyy" (also with "." or "-" and one-digit day or month, and an ignored
    time), ISO "yyyy-mm-dd" (time ignored), "yyyymmdd" or "ddmmyyyy" (text or number, years
    1900-2099), or "dd/mm/yy": a two-digit year from 00 to 69 means 2000-2069, from 70 to 99
    means 1970-1999. Date cells give their date. Numbers, and text of
    exactly five digits, are Excel serial dates in the 1900 system (45000 is 15/03/2023); a
    fraction is a time of day and is dropped.
    """
    cell = _present(value)
    if isinstance(cell, datetime.datetime):
        return cell.date()
    if isinstance(cell, datetime.date):
        return cell
    if isinstance(cell, int | Decimal):
        shown = _display(cell)
        return _compact_date(shown) or _date_from_serial(cell, shown)
    text = cell.strip()
    if _SERIAL_TEXT.fullmatch(text):
        return _date_from_serial(int(text), text)
    compact = _compact_date(text)
    if compact is not None:
        return compact
    match = _DAY_FIRST_DATE.fullmatch(text)
    if match is not None:
        year = int(match["year"])
        if len(match["year"]) == 2:
            year += 2000 if year <= _TWO_DIGIT_YEAR_PIVOT else 1900
        return _date(year, int(match["month"]), int(match["day"]), text)
    match = _ISO_DATE.fullmatch(text)
    if match is not None:
        return _date(int(match["year"]), int(match["month"]), int(match["day"]), text)
    raise _not_a_date(text)


def _compact_date(text: str) -> datetime.date | None:
    """The date of eight digits written without separators (seven when a spreadsheet dropped
    the leading zero of a day-first date); None for other text. Year first is tried before day
    first; at most one of the two gives a real date, since a year-first reading of a day-first
    date has 19 or 20 for a month."""
    digits = f"0{text}" if len(text) == 7 else text
    for pattern in _COMPACT_DATES:
        match = pattern.fullmatch(digits)
        if match is not None:
            try:
                return datetime.date(int(match["year"]), int(match["month"]), int(match["day"]))
            except ValueError:
                continue
    return None


def _date(year: int, month: int, day: int, shown: str) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise _not_a_date(shown) from None


def _date_from_serial(serial: int | Decimal, shown: str) -> datetime.date:
    if isinstance(serial, Decimal):
        if not serial.is_finite():
            raise _not_a_date(shown)
        serial = int(serial.to_integral_value(rounding=ROUND_FLOOR))
    if not _SERIAL_MIN <= serial <= _SERIAL_MAX or serial == _SERIAL_FAKE_LEAP_DAY:
        raise _not_a_date(shown)
    if serial < _SERIAL_FAKE_LEAP_DAY:
        serial += 1  # before the fake leap day Excel's count is one day behind the calendar
    return _EXCEL_DAY_ZERO + datetime.timedelta(days=serial)


def _not_a_date(shown: str) -> FieldError:
    return FieldError(_("'%(value)s' is not a valid date (dd/mm/yyyy)") % {"value": shown})


def parse_text(value: Cell) -> str:
    """Text as written; numbers without ".0" or exponent, dates as dd/mm/yyyy."""
    return _as_text(_present(value))


def parse_identifier(value: Cell, *, width: int | None = None) -> str:
    """A code such as a contract number, keeping leading zeros.

    Numeric cells give their integer digits. With `width`, an all-digit value shorter than it is
    left-padded with zeros, restoring those Excel removes when it takes a code for a number.
    """
    cell = _present(value)
    if isinstance(cell, str) and _SHORTENED_NUMBER.fullmatch(cell.strip()):
        raise FieldError(
            _(
                "'%(value)s' is a number shortened by Excel and its digits are lost; format the "
                "column as text in the original file and export it again"
            )
            % {"value": cell.strip()}
        )
    text = _as_text(cell)
    if width is not None and text.isascii() and text.isdigit() and len(text) < width:
        text = text.zfill(width)
    return text


def parse_postcode(value: Cell) -> str:
    """An Italian postcode (CAP) as five digits, restoring leading zeros: 3020 is "03020"."""
    cell = _present(value)
    text = _as_text(cell) if isinstance(cell, int | Decimal) else cell
    if not isinstance(text, str) or not _POSTCODE.fullmatch(text.strip()):
        raise FieldError(
            _("'%(value)s' is not a valid postcode (five digits)") % {"value": _display(cell)}
        )
    return text.strip().zfill(5)


def parse_integer(value: Cell) -> int:
    """A whole number such as an installment number: "3", "03", 3 or Decimal("3")."""
    cell = _present(value)
    if isinstance(cell, int):
        return cell
    if isinstance(cell, Decimal) and cell.is_finite() and cell == cell.to_integral_value():
        return int(cell)
    if isinstance(cell, str) and _INTEGER.fullmatch(cell.strip()):
        return int(cell.strip())
    raise FieldError(_("'%(value)s' is not a whole number") % {"value": _display(cell)})


def _present(value: Cell) -> str | int | Decimal | datetime.date:
    """The cell itself, once it is known to hold something usable."""
    if isinstance(value, CellError):
        raise FieldError(
            _("cell %(cell)s holds the spreadsheet error %(code)s")
            % {"cell": value.coordinate, "code": value.code}
        )
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FieldError(_("the value is missing"))
    return value


def _as_text(cell: str | int | Decimal | datetime.date) -> str:
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, int):
        return str(cell)
    if isinstance(cell, Decimal):
        return _decimal_text(cell)
    if isinstance(cell, datetime.datetime) and cell.time() != datetime.time():
        return cell.strftime("%d/%m/%Y %H:%M")
    return cell.strftime("%d/%m/%Y")


def _decimal_text(number: Decimal) -> str:
    if not number.is_finite():
        return str(number)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def _display(cell: str | int | Decimal | datetime.date) -> str:
    """A cell as an Italian user would type it, for quoting in messages."""
    if isinstance(cell, Decimal):
        return _decimal_text(cell).replace(".", ",")
    return _as_text(cell)
