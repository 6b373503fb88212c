"""Parsing single cells: Italian amounts and dates, identifiers, postcodes, whole numbers."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from imports.parsers import (
    FieldError,
    parse_amount,
    parse_date,
    parse_identifier,
    parse_integer,
    parse_postcode,
    parse_text,
)
from imports.readers import Cell, CellError, open_table
from imports.tests.test_readers import patch_sheet, simple_workbook, xlsx_bytes


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are compared in their English source form, whatever the project's language.
    with translation.override("en"):
        yield


def error_of(parse: Callable[[Cell], Any], value: Cell) -> str:
    with pytest.raises(FieldError) as error:
        parse(value)
    return str(error.value)


ALL_PARSERS: list[Callable[[Cell], Any]] = [
    parse_amount,
    parse_date,
    parse_text,
    parse_identifier,
    parse_postcode,
    parse_integer,
]


@pytest.mark.parametrize("parse", ALL_PARSERS)
def test_every_parser_names_the_spreadsheet_error_cell(parse: Callable[[Cell], Any]) -> None:
    assert error_of(parse, CellError("#N/A", "D7")) == "cell D7 holds the spreadsheet error #N/A"


@pytest.mark.parametrize("parse", ALL_PARSERS)
@pytest.mark.parametrize("value", [None, "", "  \u00a0"])
def test_every_parser_refuses_an_empty_cell(parse: Callable[[Cell], Any], value: Cell) -> None:
    assert error_of(parse, value) == "the value is missing"


# --- amounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1234,56", "1234.56"),
        ("9,99", "9.99"),
        ("0,5", "0.50"),
        ("€ 12,50", "12.50"),
        ("€12,50", "12.50"),
        ("12,50 €", "12.50"),
        ("12,50€", "12.50"),
        ("EUR 12,50", "12.50"),
        ("12,50 eur", "12.50"),
        ("Euro 12,50", "12.50"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234\u202f567,00", "1234567.00"),
        ("1 234,56", "1234.56"),
        ("\u00a0 12,50 \u00a0", "12.50"),
        ("€\u00a01.234,56", "1234.56"),
        ("-150,00", "-150.00"),
        ("150,00-", "-150.00"),
        ("(150,00)", "-150.00"),
        ("( € 150,00 )", "-150.00"),
        ("-€ 150,00", "-150.00"),
        ("€ -150,00", "-150.00"),
        ("150,00 €-", "-150.00"),
        ("\u2212150,00", "-150.00"),
        ("+5,00", "5.00"),
        ("1234", "1234.00"),
        ("0", "0.00"),
        ("-0,00", "0.00"),
        ("1234.56", "1234.56"),
        ("1234.5", "1234.50"),
        ("0.99", "0.99"),
        ("1.234", "1234.00"),
        ("1.234.567", "1234567.00"),
        ("1.234.567,89", "1234567.89"),
        ("12,500", "12.50"),
        ("1,234.56", "1234.56"),
        ("12,345,678.9", "12345678.90"),
        ("€ 1,234.56", "1234.56"),
    ],
)
def test_amount_text(value: str, expected: str) -> None:
    amount = parse_amount(value)
    assert amount == Decimal(expected)
    assert str(amount) == expected  # always exactly two decimal places


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1234, "1234.00"),
        (-7, "-7.00"),
        (Decimal("590.99"), "590.99"),
        (Decimal("0.1"), "0.10"),
        (Decimal("12.500"), "12.50"),
        (Decimal("-0.5"), "-0.50"),
    ],
)
def test_amount_numeric_cells(value: Cell, expected: str) -> None:
    assert str(parse_amount(value)) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (Decimal("12.345"), "'12,345' has more than two decimals"),
        ("12,345", "'12,345' has more than two decimals"),
        ("0,001", "'0,001' has more than two decimals"),
        ("12,3,4", "'12,3,4' is not an amount"),
        ("abc", "'abc' is not an amount"),
        ("€", "'€' is not an amount"),
        ("1.23.4", "'1.23.4' is not an amount"),
        ("12.3456", "'12.3456' is not an amount"),
        ("12 34", "'12 34' is not an amount"),
        ("--5", "'--5' is not an amount"),
        ("-5-", "'-5-' is not an amount"),
        ("(-5,00)", "'(-5,00)' is not an amount"),
        ("5,", "'5,' is not an amount"),
        (",50", "',50' is not an amount"),
        ("USD 5,00", "'USD 5,00' is not an amount"),
        ("\u0661\u0662", "'\u0661\u0662' is not an amount"),
        (datetime.date(2025, 1, 31), "'31/01/2025' is not an amount"),
        (10**40, "'" + "1" + "0" * 40 + "' is not an amount"),
    ],
)
def test_amount_errors(value: Cell, message: str) -> None:
    assert error_of(parse_amount, value) == message


# --- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("15/03/2023", datetime.date(2023, 3, 15)),
        ("5/3/2023", datetime.date(2023, 3, 5)),
        ("05/3/2023", datetime.date(2023, 3, 5)),
        ("15.03.2023", datetime.date(2023, 3, 15)),
        ("15-03-2023", datetime.date(2023, 3, 15)),
        ("15/03/23", datetime.date(2023, 3, 15)),
        ("01/01/00", datetime.date(2000, 1, 1)),
        ("31/12/69", datetime.date(2069, 12, 31)),
        ("01/01/70", datetime.date(1970, 1, 1)),
        ("31/12/99", datetime.date(1999, 12, 31)),
        ("29/02/2024", datetime.date(2024, 2, 29)),
        ("15/03/2023 00:00:00", datetime.date(2023, 3, 15)),
        ("15/03/2023 14:30", datetime.date(2023, 3, 15)),
        ("2023-03-15", datetime.date(2023, 3, 15)),
        ("2023-03-15 14:30:00", datetime.date(2023, 3, 15)),
        ("2023-03-15T14:30:00", datetime.date(2023, 3, 15)),
        (" 15/03/2023 ", datetime.date(2023, 3, 15)),
        ("45000", datetime.date(2023, 3, 15)),
        ("20230315", datetime.date(2023, 3, 15)),
        ("15032023", datetime.date(2023, 3, 15)),
        ("5032023", datetime.date(2023, 3, 5)),
        ("19991231", datetime.date(1999, 12, 31)),
        # Day first where the year-first reading is no date: 2011, month 20 does not exist.
        ("20112025", datetime.date(2025, 11, 20)),
        ("19122020", datetime.date(2020, 12, 19)),
    ],
)
def test_date_text(value: str, expected: datetime.date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.date(2023, 3, 15), datetime.date(2023, 3, 15)),
        (
            datetime.datetime.combine(datetime.date(2023, 3, 15), datetime.time(18, 0)),
            datetime.date(2023, 3, 15),
        ),
        (45000, datetime.date(2023, 3, 15)),
        (Decimal("45000.75"), datetime.date(2023, 3, 15)),
        (Decimal("45000"), datetime.date(2023, 3, 15)),
        (1, datetime.date(1900, 1, 1)),
        (59, datetime.date(1900, 2, 28)),
        (61, datetime.date(1900, 3, 1)),
        (2958465, datetime.date(9999, 12, 31)),
        # Eight digits without separators, as bank exports write dates; seven when the
        # spreadsheet took a day-first date for a number and dropped its leading zero.
        (20230315, datetime.date(2023, 3, 15)),
        (Decimal("15032023"), datetime.date(2023, 3, 15)),
        (5032023, datetime.date(2023, 3, 5)),
        (20112025, datetime.date(2025, 11, 20)),
    ],
)
def test_date_cells_and_excel_serials(value: Cell, expected: datetime.date) -> None:
    result = parse_date(value)
    assert type(result) is datetime.date
    assert result == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/02/2025", "'31/02/2025' is not a valid date (dd/mm/yyyy)"),
        ("29/02/2023", "'29/02/2023' is not a valid date (dd/mm/yyyy)"),
        ("15/13/2023", "'15/13/2023' is not a valid date (dd/mm/yyyy)"),
        ("2023-02-30", "'2023-02-30' is not a valid date (dd/mm/yyyy)"),
        ("15/03-2023", "'15/03-2023' is not a valid date (dd/mm/yyyy)"),
        ("15/03/202", "'15/03/202' is not a valid date (dd/mm/yyyy)"),
        ("marzo 2023", "'marzo 2023' is not a valid date (dd/mm/yyyy)"),
        ("4500", "'4500' is not a valid date (dd/mm/yyyy)"),
        ("450000", "'450000' is not a valid date (dd/mm/yyyy)"),
        (60, "'60' is not a valid date (dd/mm/yyyy)"),
        (0, "'0' is not a valid date (dd/mm/yyyy)"),
        (-1, "'-1' is not a valid date (dd/mm/yyyy)"),
        (2958466, "'2958466' is not a valid date (dd/mm/yyyy)"),
        (Decimal("0.5"), "'0,5' is not a valid date (dd/mm/yyyy)"),
        ("20231315", "'20231315' is not a valid date (dd/mm/yyyy)"),
        ("32012023", "'32012023' is not a valid date (dd/mm/yyyy)"),
        (20231315, "'20231315' is not a valid date (dd/mm/yyyy)"),
    ],
)
def test_date_errors(value: Cell, message: str) -> None:
    assert error_of(parse_date, value) == message


# --- text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  Mario Rossi ", "Mario Rossi"),
        (10007000, "10007000"),
        (-3, "-3"),
        (Decimal("1.5E+15"), "1500000000000000"),
        (Decimal("590.99"), "590.99"),
        (Decimal("590.990"), "590.99"),
        (Decimal("1E-7"), "0.0000001"),
        (datetime.date(2023, 3, 5), "05/03/2023"),
        (datetime.datetime.combine(datetime.date(2023, 3, 5), datetime.time()), "05/03/2023"),
        (
            datetime.datetime.combine(datetime.date(2023, 3, 5), datetime.time(9, 5)),
            "05/03/2023 09:05",
        ),
    ],
)
def test_text(value: Cell, expected: str) -> None:
    assert parse_text(value) == expected


# --- identifiers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [
        ("001234567890123456", None, "001234567890123456"),
        ("001234567890123456", 10, "001234567890123456"),
        ("00123", None, "00123"),
        ("AB-0012", None, "AB-0012"),
        (1234567890123456789, None, "1234567890123456789"),
        (Decimal("1.2345678901234568E+18"), None, "1234567890123456800"),
        (10007000, None, "10007000"),
        (1234, 8, "00001234"),
        ("1234", 8, "00001234"),
        ("AB12", 8, "AB12"),
        ("123456789", 8, "123456789"),
        (" 42 ", 3, "042"),
    ],
)
def test_identifier(value: Cell, width: int | None, expected: str) -> None:
    assert parse_identifier(value, width=width) == expected


def test_identifier_shortened_by_excel_is_refused() -> None:
    assert error_of(parse_identifier, "1,23457E+18") == (
        "'1,23457E+18' is a number shortened by Excel and its digits are lost; format the column "
        "as text in the original file and export it again"
    )


def test_long_identifiers_survive_both_file_kinds() -> None:
    csv_table = open_table(b"Contratto\n001234567890123456\n", "pratiche.csv")
    assert [parse_identifier(cells[0]) for _, cells in csv_table.rows] == ["001234567890123456"]
    xlsx = patch_sheet(
        xlsx_bytes(simple_workbook()), {"B2": '<c r="B2"><v>1234567890123456789</v></c>'}
    )
    xlsx_table = open_table(xlsx, "pratiche.xlsx")
    assert [parse_identifier(cells[1]) for _, cells in xlsx_table.rows] == ["1234567890123456789"]


# --- postcodes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3020", "03020"),
        (3020, "03020"),
        ("00100", "00100"),
        (100, "00100"),
        ("20121", "20121"),
        (Decimal("3020"), "03020"),
        (" 3020 ", "03020"),
    ],
)
def test_postcode(value: Cell, expected: str) -> None:
    assert parse_postcode(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("123456", "'123456' is not a valid postcode (five digits)"),
        (123456, "'123456' is not a valid postcode (five digits)"),
        ("AB123", "'AB123' is not a valid postcode (five digits)"),
        ("30-20", "'30-20' is not a valid postcode (five digits)"),
        (-3020, "'-3020' is not a valid postcode (five digits)"),
        (Decimal("3020.5"), "'3020,5' is not a valid postcode (five digits)"),
        (datetime.date(2023, 3, 5), "'05/03/2023' is not a valid postcode (five digits)"),
    ],
)
def test_postcode_errors(value: Cell, message: str) -> None:
    assert error_of(parse_postcode, value) == message


# --- whole numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["3", "03", " 3 ", "+3", 3, Decimal("3"), Decimal("3.00")])
def test_integer(value: Cell) -> None:
    assert parse_integer(value) == 3


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3,5", "'3,5' is not a whole number"),
        ("3.0", "'3.0' is not a whole number"),
        ("tre", "'tre' is not a whole number"),
        (Decimal("3.5"), "'3,5' is not a whole number"),
        (datetime.date(2023, 3, 5), "'05/03/2023' is not a whole number"),
    ],
)
def test_integer_errors(value: Cell, message: str) -> None:
    assert error_of(parse_integer, value) == message


@pytest.mark.parametrize("text", ["15/05/2025 25:99", "15/05/2025 12:60", "2025-05-15 24:00"])
def test_a_date_with_an_impossible_time_is_not_a_date(text: str) -> None:
    with pytest.raises(FieldError):
        parse_date(text)


def test_a_date_with_a_real_time_keeps_its_date() -> None:
    assert parse_date("15/05/2025 23:59") == datetime.date(2025, 5, 15)
