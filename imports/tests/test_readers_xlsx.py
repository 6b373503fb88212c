"""Reading .xlsx with calamine: every cell comes out as the exact (openpyxl) reader gives it."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import Workbook
from openpyxl.utils.datetime import MAC_EPOCH

from imports.readers import Cell, CellError, FileFormat, ReadError, Table, open_table, xlsx_calamine
from imports.readers.xlsx_files import open_xlsx_exact
from imports.tests.test_readers import at, patch_sheet, xlsx_bytes


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def rows(table: Table) -> list[tuple[int, list[Cell]]]:
    return list(table.rows)


HEADERS = ["Pratica", "Importo"]


def same_as_exact(data: bytes, sheet: str | None = None) -> Table:
    """Open `data` and check it against the exact reader; return a fresh table to look at."""
    fast = open_table(data, "pratiche.xlsx", expected_headers=HEADERS, sheet=sheet)
    exact = open_xlsx_exact(data, HEADERS, sheet)
    assert (fast.format, fast.headers) == (exact.format, exact.headers)
    assert rows(fast) == rows(exact)
    return open_table(data, "pratiche.xlsx", expected_headers=HEADERS, sheet=sheet)


def portfolio_sheet() -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Affido"
    sheet["A1"] = "Portafoglio Compass - lotto 7"  # a title above the header
    sheet.append([])
    sheet.append(["Pratica", "CAP", "Scadenza", "Importo", "Esito", "Attivo"])
    return workbook


def test_title_rows_are_skipped_and_rows_keep_their_numbers() -> None:
    workbook = portfolio_sheet()
    sheet = workbook.active
    sheet.append(["P1", "00123", datetime.date(2024, 1, 31), 10.5, None, True])
    sheet.append([])
    sheet.append(
        ["P2", 20121, at(datetime.date(2024, 2, 1), datetime.time(9, 30)), 0.1, "ok", False]
    )
    data = xlsx_bytes(workbook)

    table = open_table(data, "affido.xlsx", expected_headers=["Pratica", "Importo"])

    assert table.format == FileFormat("xlsx", None, None, "Affido", 3)
    assert table.headers == ["Pratica", "CAP", "Scadenza", "Importo", "Esito", "Attivo"]
    assert rows(table) == [
        (4, ["P1", "00123", at(datetime.date(2024, 1, 31)), Decimal("10.5"), None, "TRUE"]),
        (
            6,
            [
                "P2",
                20121,
                at(datetime.date(2024, 2, 1), datetime.time(9, 30)),
                Decimal("0.1"),
                "ok",
                "FALSE",
            ],
        ),
    ]
    assert table.estimated_rows == 3


def test_postcode_saved_as_number_stays_the_number_the_file_holds() -> None:
    # The leading zero is already gone in the file; the postcode field restores it, not the reader.
    workbook = portfolio_sheet()
    workbook.active.append(["P1", 123, None, None, None, None])
    table = same_as_exact(xlsx_bytes(workbook))
    assert rows(table) == [(4, ["P1", 123, None, None, None, None])]


def test_long_contract_numbers_keep_every_digit() -> None:
    workbook = portfolio_sheet()
    workbook.active.append(["P1", None, None, 1, None, None])
    data = patch_sheet(
        xlsx_bytes(workbook),
        {
            "A4": '<c r="A4"><v>1234567890123456789</v></c>',
            "D4": '<c r="D4"><v>-98765432109876543</v></c>',
        },
    )
    table = same_as_exact(data)
    assert rows(table) == [(4, [1234567890123456789, None, None, -98765432109876543, None, None])]


def test_long_digits_stored_as_text_stay_text() -> None:
    workbook = portfolio_sheet()
    workbook.active.append(["1234567890123456789", None, None, None, None, None])
    table = same_as_exact(xlsx_bytes(workbook))
    assert rows(table) == [(4, ["1234567890123456789", None, None, None, None, None])]


def test_error_cells_are_kept_apart_with_their_coordinate() -> None:
    workbook = portfolio_sheet()
    workbook.active.append(["P1", None, None, None, None, None])
    workbook.active.append(["P2", None, None, None, None, None])
    data = patch_sheet(
        xlsx_bytes(workbook),
        {
            "A4": '<c r="A4" t="e"><f>VLOOKUP(X1,Y:Y,1,0)</f><v>#N/A</v></c>',
            "A5": '<c r="A5" t="str"><v>P2</v></c><c r="D5" t="e"><v>#DIV/0!</v></c>',
        },
    )
    table = same_as_exact(data)
    assert rows(table) == [
        (4, [CellError("#N/A", "A4"), None, None, None, None, None]),
        (5, ["P2", None, None, CellError("#DIV/0!", "D5"), None, None]),
    ]


def test_error_cell_without_coordinate_is_still_placed() -> None:
    workbook = portfolio_sheet()
    workbook.active.append(["P1", "x", None, None, None, None])
    data = patch_sheet(
        xlsx_bytes(workbook),
        {"A4": '<c r="A4" t="inlineStr"><is><t>P1</t></is></c>', "B4": '<c t="e"><v>#N/A</v></c>'},
    )
    table = same_as_exact(data)
    assert rows(table) == [(4, ["P1", CellError("#N/A", "B4"), None, None, None, None])]


def test_dates_times_and_text_dates() -> None:
    workbook = portfolio_sheet()
    sheet = workbook.active
    sheet.append(["P1", None, "31/01/2024", None, None, None])
    sheet.append(["P2", None, datetime.date(1900, 3, 1), None, None, None])
    data = xlsx_bytes(workbook)
    table = same_as_exact(data)
    assert rows(table) == [
        (4, ["P1", None, "31/01/2024", None, None, None]),
        (5, ["P2", None, at(datetime.date(1900, 3, 1)), None, None, None]),
    ]


@pytest.mark.parametrize(
    ("serial", "number_format", "expected"),
    [
        ("60", "DD/MM/YYYY", 60),  # 29/02/1900 never existed
        ("59", "DD/MM/YYYY", at(datetime.date(1900, 2, 28))),
        ("0.25", "DD/MM/YYYY", Decimal("0.25")),  # a time without a date
        ("-3", "DD/MM/YYYY", -3),
        ("1.5", "[h]:mm", Decimal("1.5")),  # a duration
    ],
)
def test_serials_calamine_cannot_tell_apart_are_read_exactly(
    serial: str, number_format: str, expected: Cell
) -> None:
    workbook = portfolio_sheet()
    sheet = workbook.active
    sheet.append(["P1", None, 1, None, None, None])
    sheet["C4"].number_format = number_format
    sheet.append(["P2", None, datetime.date(2024, 5, 2), None, None, None])
    data = patch_sheet(xlsx_bytes(workbook), {"C4": f'<c r="C4" s="1"><v>{serial}</v></c>'})
    table = same_as_exact(data)
    assert rows(table) == [
        (4, ["P1", None, expected, None, None, None]),
        (5, ["P2", None, at(datetime.date(2024, 5, 2)), None, None, None]),
    ]


def test_mac_workbook_dates() -> None:
    workbook = portfolio_sheet()
    workbook.epoch = MAC_EPOCH
    workbook.active.append(["P1", None, datetime.date(2024, 1, 31), None, None, None])
    table = same_as_exact(xlsx_bytes(workbook))
    assert rows(table) == [(4, ["P1", None, at(datetime.date(2024, 1, 31)), None, None, None])]


def test_hidden_sheet_is_passed_over_and_sheets_are_chosen_by_name() -> None:
    workbook = portfolio_sheet()
    workbook.active.sheet_state = "hidden"
    other = workbook.create_sheet("Rate ")
    other.append(["Pratica", "Rata"])
    other.append(["P9", 3])
    workbook.active = 1
    data = xlsx_bytes(workbook)
    assert same_as_exact(data).format.sheet == "Rate "
    assert (
        open_table(data, "x.xlsx", expected_headers=HEADERS, sheet="rate").format.sheet == "Rate "
    )
    assert same_as_exact(data, sheet="Affido").headers[0] == "Pratica"
    with pytest.raises(ReadError) as error:
        open_table(data, "x.xlsx", sheet="Pagamenti")
    assert str(error.value) == (
        "The Excel file has no sheet named “Pagamenti”; its sheets are: “Affido”, “Rate ”."
    )


def test_data_starting_in_a_later_column_keeps_its_columns() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet["C3"] = "Pratica"
    sheet["D3"] = "Importo"
    sheet["C4"] = "P1"
    sheet["D4"] = 12
    table = same_as_exact(xlsx_bytes(workbook))
    assert table.headers == ["", "", "Pratica", "Importo"]
    assert rows(table) == [(4, [None, None, "P1", 12])]


def test_a_workbook_cut_in_half_is_refused() -> None:
    workbook = portfolio_sheet()
    for number in range(2000):
        workbook.active.append([f"P{number}", number, None, number / 7, None, None])
    data = xlsx_bytes(workbook)
    with pytest.raises(ReadError) as error:
        list(open_table(data[: len(data) // 2], "affido.xlsx").rows)
    assert str(error.value) == (
        "The Excel file is damaged or incomplete: open it in Excel, save it again as .xlsx "
        "and upload it again."
    )


def test_a_large_sheet_reads_like_the_exact_reader() -> None:
    workbook = portfolio_sheet()
    for number in range(5000):
        workbook.active.append(
            [f"P{number}", number, datetime.date(2024, 1, 1 + number % 28), number / 8, None, None]
        )
    table = same_as_exact(xlsx_bytes(workbook))
    assert sum(1 for _ in table.rows) == 5000
    assert table.estimated_rows == 5000


def test_a_sheet_too_large_to_hold_is_streamed_by_the_exact_reader(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(xlsx_calamine, "_LARGEST_SHEET_XML", 1000)
    workbook = portfolio_sheet()
    for number in range(100):
        workbook.active.append([f"P{number}", number, None, number / 8, None, None])
    with caplog.at_level(logging.INFO, logger=xlsx_calamine.__name__):
        table = same_as_exact(xlsx_bytes(workbook))
    assert "Sheet too large to hold in memory; reading it with openpyxl" in caplog.messages
    assert rows(table)[-1] == (103, ["P99", 99, None, Decimal("12.375"), None, None])


def test_a_zip_signature_followed_by_garbage_is_refused() -> None:
    with pytest.raises(ReadError) as error:
        open_table(b"PK\x03\x04 not a zip archive", "affido.xlsx")
    assert str(error.value).startswith("The Excel file is damaged or incomplete")
