"""Reading creditor files: CSV in every dialect Italian offices produce, and Excel .xlsx."""

from __future__ import annotations

import datetime
import inspect
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import Workbook
from openpyxl.styles import PatternFill
from openpyxl.utils.datetime import MAC_EPOCH

from imports.readers import (
    Cell,
    CellError,
    FileFormat,
    ReadError,
    Table,
    normalise_header,
    open_table,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are compared in their English source form, whatever the project's language.
    with translation.override("en"):
        yield


def read_csv(text: str, expected_headers: Sequence[str] = ()) -> Table:
    return open_table(text.encode(), "pratiche.csv", expected_headers=expected_headers)


def rows(table: Table) -> list[tuple[int, list[Cell]]]:
    return list(table.rows)


def at(day: datetime.date, time: datetime.time = datetime.time()) -> datetime.datetime:
    return datetime.datetime.combine(day, time)


# --- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "num pratica",
        "  Num  Pratica ",
        "NUM_PRATICA",
        "Num_ Pratica",
        "num\u00a0pratica",
        "Num\tPratica",
    ],
)
def test_normalise_header_ignores_case_spacing_and_underscores(text: str) -> None:
    assert normalise_header(text) == "num pratica"


# --- CSV encodings ---------------------------------------------------------------------------

ITALIAN = "Debitore;Città;Importo\r\nNICCOLÒ ROSSI;FORLÌ;€ 1.234,50\r\n"
ITALIAN_ROW = [(2, ["NICCOLÒ ROSSI", "FORLÌ", "€ 1.234,50"])]


def test_utf8_with_bom() -> None:
    table = open_table(b"\xef\xbb\xbf" + ITALIAN.encode(), "pratiche.csv")
    assert table.format == FileFormat("csv", "utf-8-sig", ";", None, 1)
    assert table.headers == ["Debitore", "Città", "Importo"]
    assert rows(table) == ITALIAN_ROW


def test_utf8_without_bom() -> None:
    table = read_csv(ITALIAN)
    assert table.format.encoding == "utf-8"
    assert table.headers == ["Debitore", "Città", "Importo"]
    assert rows(table) == ITALIAN_ROW


def test_windows_1252() -> None:
    data = ITALIAN.encode("cp1252")
    assert b"\x80" in data  # the euro sign has no latin-1 code: this is really cp1252
    table = open_table(data, "pratiche.csv")
    assert table.format.encoding == "cp1252"
    assert table.headers == ["Debitore", "Città", "Importo"]
    assert rows(table) == ITALIAN_ROW


def test_bytes_undefined_in_cp1252_fall_back_to_latin_1() -> None:
    table = open_table(b"Nome;Note\nA;x\x81y\n", "pratiche.csv")
    assert table.format.encoding == "latin-1"
    assert rows(table) == [(2, ["A", "x\x81y"])]


def test_utf16_unicode_text_export() -> None:
    data = "Debitore\tCittà\nNICCOLÒ\tFORLÌ\n".encode("utf-16")
    table = open_table(data, "pratiche.txt")
    assert (table.format.encoding, table.format.delimiter) == ("utf-16", "\t")
    assert rows(table) == [(2, ["NICCOLÒ", "FORLÌ"])]


def test_bom_declaring_utf8_with_invalid_bytes_is_refused() -> None:
    with pytest.raises(ReadError, match="invalid characters"):
        open_table(b"\xef\xbb\xbfNome\n\xd2\n", "pratiche.csv")


# --- CSV delimiters --------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_delimiter_is_detected(delimiter: str) -> None:
    text = delimiter.join(["Pratica", "Debitore", "Importo"]) + "\n"
    text += delimiter.join(["P1", "Rossi", "12"]) + "\n"
    table = read_csv(text)
    assert table.format.delimiter == delimiter
    assert table.headers == ["Pratica", "Debitore", "Importo"]
    assert rows(table) == [(2, ["P1", "Rossi", "12"])]


def test_semicolon_file_with_decimal_commas_in_data() -> None:
    table = read_csv("Pratica;Importo;Spese\nP1;12,50;3,20\n")
    assert table.format.delimiter == ";"
    assert rows(table) == [(2, ["P1", "12,50", "3,20"])]


def test_delimiters_inside_quotes_do_not_count() -> None:
    table = read_csv('"Cognome, Nome, Titolo";Importo\n"Rossi, Mario, Sig.";5\n')
    assert table.format.delimiter == ";"
    assert table.headers == ["Cognome, Nome, Titolo", "Importo"]
    assert rows(table) == [(2, ["Rossi, Mario, Sig.", "5"])]


def test_expected_headers_choose_the_delimiter() -> None:
    text = "Codice;Descrizione, estesa, completa\nC1;lunga, molto\n"
    assert read_csv(text).format.delimiter == ","
    table = read_csv(text, expected_headers=["codice", "descrizione, estesa, completa"])
    assert table.format.delimiter == ";"
    assert table.headers == ["Codice", "Descrizione, estesa, completa"]


def test_sep_line_sets_delimiter_and_is_not_counted() -> None:
    table = read_csv("sep=,\nA;1,B\nx;2,y\n")
    assert table.format == FileFormat("csv", "utf-8", ",", None, 1)
    assert table.headers == ["A;1", "B"]
    assert rows(table) == [(2, ["x;2", "y"])]


@pytest.mark.parametrize(
    ("line", "delimiter"), [('"SEP=;"\r\n', ";"), ("Sep=\t\n", "\t"), ("sep=|\r", "|")]
)
def test_sep_line_variants(line: str, delimiter: str) -> None:
    text = line + delimiter.join(["A", "B"]) + "\n" + delimiter.join(["1", "2"]) + "\n"
    table = read_csv(text)
    assert table.format.delimiter == delimiter
    assert table.headers == ["A", "B"]
    assert rows(table) == [(2, ["1", "2"])]


# --- CSV line endings, quoting and row numbers -----------------------------------------------


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
def test_line_endings(newline: str) -> None:
    table = read_csv(newline.join(["A;B", "1;2", "3;4", ""]))
    assert table.headers == ["A", "B"]
    assert rows(table) == [(2, ["1", "2"]), (3, ["3", "4"])]


def test_mixed_line_endings() -> None:
    table = read_csv("A;B\r\n1;2\r3;4\n5;6")
    assert rows(table) == [(2, ["1", "2"]), (3, ["3", "4"]), (4, ["5", "6"])]


def test_quoted_fields_keep_delimiters_line_breaks_and_quotes() -> None:
    text = (
        "Pratica;Note;Importo\r\n"
        'P1;"prima riga\r\nseconda; con ""virgolette""";10,00\r\n'
        'P2;"a\rb\nc";20,00\r\n'
        "P3;ok;30,00\r\n"
    )
    assert rows(read_csv(text)) == [
        (2, ["P1", 'prima riga\r\nseconda; con "virgolette"', "10,00"]),
        (4, ["P2", "a\rb\nc", "20,00"]),
        (7, ["P3", "ok", "30,00"]),
    ]


def test_row_numbers_skip_blank_lines_but_count_them() -> None:
    table = read_csv("A;B\n\n1;2\n;;\n  ;\u00a0\n3;4\n")
    assert rows(table) == [(3, ["1", "2"]), (6, ["3", "4"])]


def test_row_numbers_after_sep_line_and_multiline_field() -> None:
    table = read_csv('sep=;\nA;B\n1;"x\ny"\n2;z\n')
    assert table.format.header_row == 1
    assert rows(table) == [(2, ["1", "x\ny"]), (4, ["2", "z"])]


def test_cells_are_stripped_text_and_empty_is_none() -> None:
    table = read_csv("A;B;C;D\n  0012 ;\u00a0x\u00a0y\u202f;;   \n")
    assert rows(table) == [(2, ["0012", "x\u00a0y", None, None])]


def test_short_rows_are_padded_and_long_rows_keep_extra_cells() -> None:
    table = read_csv("A;B;C\n1\n1;2;3;4\n")
    assert rows(table) == [(2, ["1", None, None]), (3, ["1", "2", "3", "4"])]


def test_unterminated_short_last_line_is_a_cut_file() -> None:
    table = read_csv("A;B;C\r\n1;2;3\r\n4;5")
    assert next(table.rows) == (2, ["1", "2", "3"])
    with pytest.raises(ReadError) as error:
        next(table.rows)
    assert str(error.value) == (
        "The file ends in the middle of row 3 (2 of 3 columns): it looks cut off. "
        "Nothing was applied; send the complete file."
    )


def test_unterminated_complete_last_line_is_fine() -> None:
    assert rows(read_csv("A;B;C\r\n1;2;3\r\n4;5;")) == [
        (2, ["1", "2", "3"]),
        (3, ["4", "5", None]),
    ]


def test_file_cut_inside_a_quoted_value_is_refused() -> None:
    with pytest.raises(ReadError, match="ends in the middle of row 2"):
        rows(read_csv('A;B;C\n1;"Via Roma'))


def test_long_identifiers_stay_text() -> None:
    table = read_csv("Contratto;Importo\n001234567890123456;1\n")
    assert rows(table) == [(2, ["001234567890123456", "1"])]


def test_rows_are_a_lazy_generator() -> None:
    table = read_csv("A\n" + "x\n" * 1000)
    assert inspect.isgenerator(table.rows)
    assert next(table.rows) == (2, ["x"])


# --- CSV header location ---------------------------------------------------------------------


def test_header_is_first_non_empty_row_by_default() -> None:
    table = read_csv("\n\n;;\nA;B\n1;2\n")
    assert table.format.header_row == 4
    assert table.headers == ["A", "B"]
    assert rows(table) == [(5, ["1", "2"])]


def test_title_rows_above_header_are_skipped_with_expected_headers() -> None:
    text = (
        "Compass Banca S.p.A.;;\n"
        "Elenco pratiche al 31/01/2025;;\n"
        "\n"
        "Pratica;Debitore;Importo\n"
        "P1;Rossi;5\n"
    )
    table = read_csv(text, expected_headers=["Pratica", "Importo", "Scadenza"])
    assert table.format.header_row == 4
    assert table.headers == ["Pratica", "Debitore", "Importo"]
    assert rows(table) == [(5, ["P1", "Rossi", "5"])]


def test_headers_with_stray_spaces_and_case_match_but_are_kept_as_written() -> None:
    text = "Report\n  NUM_PRATICA ;Importo   Totale;data scadenza\nP1;5;01/02/2025\n"
    table = read_csv(text, expected_headers=["Num Pratica", "importo totale", "Data Scadenza"])
    assert table.format.header_row == 2
    assert table.headers == ["NUM_PRATICA", "Importo   Totale", "data scadenza"]


def test_unmatched_expected_headers_fall_back_to_first_row() -> None:
    table = read_csv("A;B\n1;2\n", expected_headers=["Pratica"])
    assert (table.format.header_row, table.headers) == (1, ["A", "B"])


def test_trailing_empty_header_cells_are_dropped() -> None:
    assert read_csv("A;B;;\n1;2;;\n").headers == ["A", "B"]


# --- files that cannot be read ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [b"", b"  \r\n\t\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf \r\n", b"\xff\xfe"]
)
def test_empty_file(data: bytes) -> None:
    with pytest.raises(ReadError, match=r"^The file is empty\.$"):
        open_table(data, "pratiche.csv")


def test_file_of_empty_rows_has_no_data() -> None:
    with pytest.raises(ReadError, match="contains no data"):
        read_csv(";;;\n;;\n")


NOT_A_SPREADSHEET = (
    "This file is not a spreadsheet: upload an Excel Workbook (.xlsx) or a CSV file."
)


@pytest.mark.parametrize(
    "data",
    [
        b"Pratica;Importo\nP1\x00;5\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        bytes(range(256)) * 4,
    ],
    ids=["nul-bytes", "png", "jpeg", "random-bytes"],
)
def test_binary_file(data: bytes) -> None:
    with pytest.raises(ReadError) as error:
        open_table(data, "pratiche.csv")
    assert str(error.value) == NOT_A_SPREADSHEET


def test_pdf() -> None:
    with pytest.raises(ReadError, match="is a PDF document"):
        open_table(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "pratiche.pdf")


def test_web_page_saved_as_xls() -> None:
    with pytest.raises(ReadError, match="web page or an XML document"):
        open_table(b"<html><body><table><tr><td>1</td></tr></table>", "export.xls")


OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


@pytest.mark.parametrize("filename", ["vecchio.xls", "vecchio", "vecchio.csv"])
def test_damaged_xls(filename: str) -> None:
    with pytest.raises(ReadError) as error:
        open_table(OLE2, filename)
    assert str(error.value) == (
        "The Excel 97-2003 (.xls) file cannot be read: it is damaged, protected by a password or "
        "not a spreadsheet. Open it, save it as an Excel Workbook (.xlsx) or as CSV and upload it "
        "again."
    )


def test_password_protected_xlsx() -> None:
    with pytest.raises(ReadError, match="protected by a password"):
        open_table(OLE2, "pratiche.xlsx")


def ods_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


@pytest.mark.parametrize("filename", ["pratiche.ods", "pratiche.xlsx", "pratiche"])
def test_damaged_opendocument_spreadsheet(filename: str) -> None:
    with pytest.raises(ReadError) as error:
        open_table(ods_bytes(), filename)
    assert str(error.value) == (
        "The OpenDocument (.ods) file cannot be read: it is damaged or not a spreadsheet. Open "
        "it, save it as an Excel Workbook (.xlsx) or as CSV and upload it again."
    )


def test_zip_that_is_not_a_spreadsheet() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ReadError) as error:
        open_table(buffer.getvalue(), "lettera.docx")
    assert str(error.value) == NOT_A_SPREADSHEET


DAMAGED = (
    "The Excel file is damaged or incomplete: open it in Excel, save it again as .xlsx and "
    "upload it again."
)


@pytest.mark.parametrize("filename", ["pratiche.xlsx", "pratiche.csv"])
def test_truncated_xlsx(filename: str) -> None:
    data = xlsx_bytes(simple_workbook())
    with pytest.raises(ReadError) as error:
        open_table(data[: len(data) // 2], filename)
    assert str(error.value) == DAMAGED


def test_xlsx_with_damaged_sheet_xml() -> None:
    data = patch_sheet(xlsx_bytes(simple_workbook()), sheet_data="<sheetData><row r=")
    with pytest.raises(ReadError) as error:
        list(open_table(data, "pratiche.xlsx").rows)
    assert str(error.value) == DAMAGED


def test_csv_with_unclosed_quote_beyond_field_limit() -> None:
    text = 'A;B\n1;2\n3;"' + "x" * 200_000 + "\n"
    table = read_csv(text)
    with pytest.raises(ReadError, match="from row 3: a quoted value is never closed"):
        list(table.rows)


# --- XLSX ------------------------------------------------------------------------------------


def xlsx_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def simple_workbook() -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Pratiche"
    sheet.append(["Pratica", "Importo"])
    sheet.append(["P1", 5])
    return workbook


def rewrite_sheet(
    data: bytes, change: Callable[[bytes], bytes], member: str = "xl/worksheets/sheet1.xml"
) -> bytes:
    """Copy an .xlsx, passing one sheet's XML through `change` (bytes -> bytes)."""
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == member:
                content = change(content)
            target.writestr(item, content)
    return output.getvalue()


def patch_sheet(data: bytes, cells: dict[str, str] | None = None, sheet_data: str = "") -> bytes:
    """Replace cells' XML (or the whole sheetData) to craft what openpyxl cannot write."""

    def change(xml: bytes) -> bytes:
        if sheet_data:
            xml = re.sub(
                rb"<sheetData>.*</sheetData>|<sheetData ?/>", sheet_data.encode(), xml, flags=re.S
            )
        for coordinate, cell_xml in (cells or {}).items():
            pattern = rb'<c r="' + coordinate.encode() + rb'"[^>]*?(?:/>|>.*?</c>)'
            xml, count = re.subn(pattern, cell_xml.encode(), xml, flags=re.S)
            assert count == 1, coordinate
        return xml

    return rewrite_sheet(data, change)


def style_of(data: bytes, coordinate: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    match = re.search(f'<c r="{coordinate}" s="(\\d+)"', xml)
    assert match is not None
    return match[1]


def test_xlsx_cells_keep_their_types() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Pratica", "Debitore", "Scadenza", "Importo", "Rata", "Attivo"])
    sheet.append(["00123", "  Rossi\u00a0", datetime.date(2025, 1, 31), 590.99, 3, True])
    sheet.append([None, "", at(datetime.date(2025, 2, 1), datetime.time(8, 30)), 0.1, 45000, False])
    table = open_table(xlsx_bytes(workbook), "pratiche.xlsx")
    assert table.format == FileFormat("xlsx", None, None, "Sheet", 1)
    assert table.headers == ["Pratica", "Debitore", "Scadenza", "Importo", "Rata", "Attivo"]
    assert rows(table) == [
        (2, ["00123", "Rossi", at(datetime.date(2025, 1, 31)), Decimal("590.99"), 3, "TRUE"]),
        (
            3,
            [
                None,
                None,
                at(datetime.date(2025, 2, 1), datetime.time(8, 30)),
                Decimal("0.1"),
                45000,
                "FALSE",
            ],
        ),
    ]
    decimal_cell = rows(open_table(xlsx_bytes(workbook), "pratiche.xlsx"))[0][1][3]
    assert type(decimal_cell) is Decimal
    assert str(decimal_cell) == "590.99"


def test_xlsx_exact_numbers_from_stored_text() -> None:
    workbook = simple_workbook()
    sheet = workbook.active
    sheet.append(["P2", 0])
    sheet.append(["P3", 0])
    sheet.append(["P4", 0])
    sheet.append(["P5", 0])
    data = patch_sheet(
        xlsx_bytes(workbook),
        {
            "B2": '<c r="B2"><v>1234567890123456789</v></c>',
            "B3": '<c r="B3" t="n"><v>1E3</v></c>',
            "B4": '<c r="B4"><v>2.2000000000000002</v></c>',
            "B5": '<c r="B5"><v>1.5E+15</v></c>',
            "B6": '<c r="B6"><v>0.30000000000000004</v></c>',
        },
    )
    values = [cells[1] for _, cells in open_table(data, "pratiche.xlsx").rows]
    assert values == [
        1234567890123456789,
        1000,
        Decimal("2.2"),
        1500000000000000,
        Decimal("0.3"),
    ]
    assert [type(v) for v in values] == [int, int, Decimal, int, Decimal]


def test_xlsx_1904_date_system() -> None:
    workbook = simple_workbook()
    workbook.epoch = MAC_EPOCH
    workbook.active["B2"] = datetime.date(2025, 1, 31)
    assert rows(open_table(xlsx_bytes(workbook), "pratiche.xlsx")) == [
        (2, ["P1", at(datetime.date(2025, 1, 31))])
    ]


def test_xlsx_date_formatted_serial_with_time_fraction() -> None:
    workbook = simple_workbook()
    workbook.active["B2"] = datetime.date(2020, 1, 1)
    data = xlsx_bytes(workbook)
    style = style_of(data, "B2")
    data = patch_sheet(data, {"B2": f'<c r="B2" s="{style}"><v>45000.75</v></c>'})
    assert rows(open_table(data, "pratiche.xlsx")) == [
        (2, ["P1", at(datetime.date(2023, 3, 15), datetime.time(18, 0))])
    ]


def test_xlsx_time_only_value_in_date_cell_stays_a_number() -> None:
    workbook = simple_workbook()
    workbook.active["B2"] = datetime.date(2020, 1, 1)
    data = xlsx_bytes(workbook)
    style = style_of(data, "B2")
    data = patch_sheet(data, {"B2": f'<c r="B2" s="{style}"><v>0.5</v></c>'})
    assert rows(open_table(data, "pratiche.xlsx")) == [(2, ["P1", Decimal("0.5")])]


def test_xlsx_date_serial_in_plain_numeric_cell_stays_a_number() -> None:
    workbook = simple_workbook()
    workbook.active["B2"] = 45000
    assert rows(open_table(xlsx_bytes(workbook), "pratiche.xlsx")) == [(2, ["P1", 45000])]


def test_xlsx_formula_cells_give_their_stored_value() -> None:
    workbook = simple_workbook()
    workbook.active["C2"] = "=B2*2"
    workbook.active["D2"] = '=CONCAT("A";"B")'
    data = patch_sheet(
        xlsx_bytes(workbook),
        {
            "C2": '<c r="C2"><f>B2*2</f><v>10.5</v></c>',
            "D2": '<c r="D2" t="str"><f>CONCAT("A","B")</f><v>AB</v></c>',
        },
    )
    assert rows(open_table(data, "pratiche.xlsx")) == [(2, ["P1", 5, Decimal("10.5"), "AB"])]


def test_xlsx_error_cells() -> None:
    workbook = simple_workbook()
    for row in range(3, 8):
        workbook.active.append([f"P{row}", row, None, 0])
    data = patch_sheet(
        xlsx_bytes(workbook),
        {
            "D7": '<c r="D7" t="e"><f>VLOOKUP(A7,X!A:B,2,0)</f><v>#N/A</v></c>',
            "D6": '<c r="D6" t="e"><v>#DIV/0!</v></c>',
        },
    )
    table = open_table(data, "pratiche.xlsx")
    by_row = dict(table.rows)
    assert by_row[7] == ["P7", 7, None, CellError("#N/A", "D7")]
    assert by_row[6][3] == CellError("#DIV/0!", "D6")


def test_xlsx_formatted_empty_rows_at_the_end_are_ignored() -> None:
    workbook = simple_workbook()
    sheet = workbook.active
    for column in "ABCD":
        sheet[f"{column}200"].fill = PatternFill("solid", fgColor="FFFF00")
        sheet[f"{column}3"].fill = PatternFill("solid", fgColor="FFFF00")
    data = xlsx_bytes(workbook)
    assert sheet.max_row == 200
    table = open_table(data, "pratiche.xlsx")
    assert table.headers == ["Pratica", "Importo"]
    assert rows(table) == [(2, ["P1", 5])]


def test_xlsx_does_not_trust_the_declared_dimension() -> None:
    data = patch_sheet(
        xlsx_bytes(simple_workbook()),
        sheet_data=(
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Pratica</t></is></c></row>'
            '<row r="3"><c r="C3"><v>7</v></c></row>'
            "<row><c><v>8</v></c></row></sheetData>"
        ),
    )
    data = rewrite_sheet(
        data, lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A1"', xml)
    )
    assert rows(open_table(data, "pratiche.xlsx")) == [(3, [None, None, 7]), (4, [8])]


def test_xlsx_title_rows_above_header_keep_real_row_numbers() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "Compass Banca S.p.A. - affido gennaio"
    sheet["A2"] = "Estratto al 31/01/2025"
    sheet.append([])
    sheet.append(["Num. Pratica", "IMPORTO", "Data_Scadenza"])
    sheet.append(["P1", 12.5, datetime.date(2025, 3, 1)])
    table = open_table(
        xlsx_bytes(workbook),
        "pratiche.xlsx",
        expected_headers=["num. pratica", "importo", "data scadenza"],
    )
    assert table.format.header_row == 4
    assert table.headers == ["Num. Pratica", "IMPORTO", "Data_Scadenza"]
    assert rows(table) == [(5, ["P1", Decimal("12.5"), at(datetime.date(2025, 3, 1))])]


def test_xlsx_non_text_header_cells_become_text() -> None:
    workbook = Workbook()
    workbook.active.append(["Pratica", 2024, None, datetime.date(2025, 1, 31), None])
    workbook.active.append(["P1", 1, 2, 3])
    table = open_table(xlsx_bytes(workbook), "pratiche.xlsx")
    assert table.headers == ["Pratica", "2024", "", "31/01/2025"]


def two_sheet_workbook() -> Workbook:
    workbook = simple_workbook()
    other = workbook.create_sheet("Rate ")
    other.append(["Rata"])
    other.append([1])
    return workbook


def test_xlsx_first_visible_sheet_by_default() -> None:
    workbook = two_sheet_workbook()
    workbook.active.sheet_state = "hidden"
    workbook.active = 1
    table = open_table(xlsx_bytes(workbook), "pratiche.xlsx")
    assert (table.format.sheet, table.headers) == ("Rate ", ["Rata"])


def test_xlsx_named_sheet() -> None:
    data = xlsx_bytes(two_sheet_workbook())
    assert open_table(data, "pratiche.xlsx", sheet="Rate ").headers == ["Rata"]
    assert open_table(data, "pratiche.xlsx", sheet="rate").format.sheet == "Rate "
    assert open_table(data, "pratiche.xlsx").format.sheet == "Pratiche"


def test_xlsx_missing_sheet() -> None:
    with pytest.raises(ReadError) as error:
        open_table(xlsx_bytes(two_sheet_workbook()), "pratiche.xlsx", sheet="Foglio1")
    assert str(error.value) == (
        "The Excel file has no sheet named “Foglio1”; its sheets are: “Pratiche”, “Rate ”."
    )


def test_xlsx_empty_sheet() -> None:
    with pytest.raises(ReadError, match="contains no data"):
        open_table(xlsx_bytes(Workbook()), "pratiche.xlsx")


def test_xlsx_detected_by_content_whatever_the_name() -> None:
    table = open_table(xlsx_bytes(simple_workbook()), "pratiche.csv")
    assert table.format.kind == "xlsx"


def test_tab_separated_text_named_xls_is_read_as_csv() -> None:
    table = open_table(b"Pratica\tImporto\nP1\t5\n", "export.xls")
    assert (table.format.kind, table.format.delimiter) == ("csv", "\t")


def test_xlsx_large_sheet_is_streamed() -> None:
    count = 100_000
    body = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(2, count + 2))
    data = patch_sheet(
        xlsx_bytes(simple_workbook()),
        sheet_data=(
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>N</t></is></c></row>'
            f'{body}<row r="{count + 2}"><c r="A'  # damaged at the very end
        ),
    )
    table = open_table(data, "pratiche.xlsx")
    # The damage at the end cannot have been seen yet: rows come from the sheet as it is parsed.
    assert list(itertools.islice(table.rows, 3)) == [(2, [2]), (3, [3]), (4, [4])]
    last = 0
    with pytest.raises(ReadError):
        for number, _cells in table.rows:
            last = number
    assert last == count + 1
