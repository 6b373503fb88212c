"""Excel 97-2003 (.xls) and OpenDocument (.ods) workbooks, as older creditor systems still export
them, read like .xlsx: title rows skipped, numbers and dates typed, the files imported."""

from __future__ import annotations

import datetime
import io
import itertools
import logging
import os
import signal
import tempfile
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pytest
import xlwt
from django.utils import translation

from cases.models import Case, Payment
from cases.tests.factories import BatchFactory
from creditors.models import Creditor
from imports.models import JobStatus
from imports.readers import ReadError, open_table
from imports.tests.helpers import run_file
from imports.tests.test_prefattura import make_case

# Workbook dates carry no time zone: the cell's day at midnight, as the readers give it.
FEB_20 = datetime.datetime.combine(datetime.date(2025, 2, 20), datetime.time())
MAR_20 = datetime.datetime.combine(datetime.date(2025, 3, 20), datetime.time())
PRE_INVOICE_HEADERS = ["Lotto", "Contratto", "Nominativo", "DataPagamento", "Importo"]
ROWS: list[list[Any]] = [
    ["CMP-9", "0010000001", None, datetime.date(2025, 2, 20), 355.42],
    ["CMP-9", 10000002, "ROSSI MARIO", datetime.date(2025, 3, 20), 1234567.89],
]


def xls_bytes(rows: list[list[Any]], title: str | None = "Prefattura Compass") -> bytes:
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Prefattura")
    day = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    start = 0
    if title:
        sheet.write(0, 0, title)
        start = 2
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write(start + r, c, value, day)
            elif value is not None:
                sheet.write(start + r, c, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ods_cell(value: Any) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, datetime.date):
        kind = f'office:value-type="date" office:date-value="{value.isoformat()}"'
    elif isinstance(value, int | float):
        kind = f'office:value-type="float" office:value="{value}"'
    else:
        kind = 'office:value-type="string"'
    return f"<table:table-cell {kind}><text:p>{escape(str(value))}</text:p></table:table-cell>"


def ods_bytes(rows: list[list[Any]], sheet: str = "Foglio1") -> bytes:
    """A minimal OpenDocument spreadsheet, as LibreOffice lays one out."""
    body = "".join(
        "<table:table-row>" + "".join(map(ods_cell, row)) + "</table:table-row>" for row in rows
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "mimetype",
            "application/vnd.oasis.opendocument.spreadsheet",
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def test_an_xls_workbook_is_read_below_its_title_with_typed_cells() -> None:
    table = open_table(
        xls_bytes([PRE_INVOICE_HEADERS, *ROWS]), "prefattura.xls", expected_headers=["Importo"]
    )

    assert (table.format.kind, table.format.sheet, table.format.header_row) == (
        "xls",
        "Prefattura",
        3,
    )
    assert table.headers == PRE_INVOICE_HEADERS
    assert list(table.rows) == [
        (4, ["CMP-9", "0010000001", None, FEB_20, Decimal("355.42")]),
        (
            5,
            [
                "CMP-9",
                10000002,
                "ROSSI MARIO",
                MAR_20,
                Decimal("1234567.89"),
            ],
        ),
    ]


def test_an_ods_workbook_is_read_with_typed_cells() -> None:
    data = ods_bytes([["Elenco pagamenti"], [], PRE_INVOICE_HEADERS, *ROWS])

    table = open_table(data, "prefattura.ods", expected_headers=PRE_INVOICE_HEADERS)

    assert (table.format.kind, table.format.sheet, table.format.header_row) == (
        "ods",
        "Foglio1",
        3,
    )
    assert list(table.rows) == [
        (4, ["CMP-9", "0010000001", None, FEB_20, Decimal("355.42")]),
        (
            5,
            [
                "CMP-9",
                10000002,
                "ROSSI MARIO",
                MAR_20,
                Decimal("1234567.89"),
            ],
        ),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "write"), [("prefattura.xls", xls_bytes), ("prefattura.ods", ods_bytes)]
)
def test_a_pre_invoice_in_either_format_is_matched(
    compass: Creditor, settings: Any, tmp_path: Any, name: str, write: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    batch = BatchFactory(creditor=compass, code="CMP-9", assigned_on=datetime.date(2025, 1, 10))
    first = make_case(batch, "0010000001", "355.42")
    second = make_case(batch, "0010000002", "1234567.89")

    job = run_file(compass, "prefattura", write([PRE_INVOICE_HEADERS, *ROWS]), name)

    assert job.status == JobStatus.DONE, job.error
    assert (job.counts["matched"], job.counts["errors"]) == (2, 0)
    assert job.detected_format["kind"] == name.rsplit(".", 1)[1]
    paid = set(Payment.objects.values_list("case", "paid_on", "amount"))
    assert paid == {
        (first.pk, datetime.date(2025, 2, 20), Decimal("355.42")),
        (second.pk, datetime.date(2025, 3, 20), Decimal("1234567.89")),
    }
    assert Case.objects.count() == 2


def with_huge_dimensions(xls: bytes) -> bytes:
    """The .xls with its DIMENSIONS record (0x0200) claiming 16 million rows and 255 columns, as
    one damaged byte can: calamine would set out a sheet of tens of gigabytes."""
    data = bytearray(xls)
    record = data.find(bytes.fromhex("00020e00"))
    assert record > 0
    data[record + 4 : record + 12] = bytes.fromhex("00000000ffffff00")
    data[record + 14 : record + 16] = b"\xff\x00"
    return bytes(data)


def test_a_damaged_xls_asking_for_all_memory_is_refused_and_the_job_fails(
    compass: Creditor, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    data = with_huge_dimensions(xls_bytes([PRE_INVOICE_HEADERS, *ROWS]))

    with translation.override("en"), pytest.raises(ReadError) as refused:
        open_table(data, "prefattura.xls", expected_headers=PRE_INVOICE_HEADERS)
    job = run_file(compass, "prefattura", data, "prefattura.xls")

    assert "The Excel 97-2003 (.xls) file cannot be read" in str(refused.value)
    assert job.status == JobStatus.FAILED
    assert "(.xls)" in job.error
    assert not Payment.objects.exists()


def one_payment_xlsx(stray: str | None = None) -> bytes:
    """A pre-invoice workbook of one payment, with "x" in the cell `stray` if given."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(PRE_INVOICE_HEADERS)
    sheet.append(["CMP-9", "0010000001", None, datetime.date(2025, 2, 20), 355.42])
    if stray is not None:
        sheet[stray] = "x"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


ONE_PAYMENT = (2, ["CMP-9", "0010000001", None, FEB_20, Decimal("355.42")])


def with_sheet_xml(xlsx: bytes, edit: Any) -> bytes:
    """The workbook with its first sheet's XML passed through `edit`."""
    source, target = io.BytesIO(xlsx), io.BytesIO()
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(target, "w") as after:
        for item in before.infolist():
            content = before.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = edit(content)
            after.writestr(item, content)
    return target.getvalue()


FAR_CELL = b'<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'


@pytest.mark.parametrize(
    "stray_row",
    [
        b"<row>" + FAR_CELL + b"</row>",  # a row without its number
        b'<row r="12">' + FAR_CELL + b"</row>",  # a row numbered 12 holding a far cell
    ],
)
def test_an_xlsx_whose_cells_would_need_all_memory_is_read_cell_by_cell(
    stray_row: bytes,
) -> None:
    """calamine would set out 17 billion cells and abort: the process it runs in ends, not
    this one, and openpyxl reads the sheet."""
    data = with_sheet_xml(
        one_payment_xlsx(),
        lambda xml: xml.replace(b"</sheetData>", stray_row + b"</sheetData>"),
    )

    table = open_table(data, "prefattura.xlsx", expected_headers=PRE_INVOICE_HEADERS)

    rows = list(table.rows)
    assert rows[0] == ONE_PAYMENT
    assert rows[-1][1][-1] == "x"


def test_an_xlsx_with_a_stray_value_in_its_last_cell_is_read() -> None:
    # Read as a rectangle from A1 to XFD1048576 the sheet would take 512 GiB.
    table = open_table(
        one_payment_xlsx("XFD1048576"), "prefattura.xlsx", expected_headers=PRE_INVOICE_HEADERS
    )

    rows = list(table.rows)
    assert table.headers == PRE_INVOICE_HEADERS
    assert [number for number, _ in rows] == [2, 1048576]
    assert rows[0] == ONE_PAYMENT


def calamine_processes() -> list[int]:
    """This process's children reading with calamine, zombies included."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, parent = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(parent) == os.getpid() and (state == "Z" or b"calamine_process" in command):
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("name", ["vuoto.xlsx", "vuoto.xls"])
def test_an_empty_sheet_leaves_no_process_and_no_copy_of_the_file(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    if name.endswith(".xlsx"):
        buffer = io.BytesIO()
        openpyxl.Workbook().save(buffer)
        data = buffer.getvalue()
    else:
        data = xls_bytes([], title=None)

    for _ in range(3):
        with pytest.raises(ReadError):
            open_table(data, name, expected_headers=PRE_INVOICE_HEADERS)

    assert not list(tmp_path.glob("incasso-*"))
    assert calamine_processes() == []


def test_rows_are_neither_lost_nor_repeated_when_calamine_stops_halfway(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(PRE_INVOICE_HEADERS)
    for number in range(1, 10_001):
        sheet.append(["CMP-9", f"{number:010d}", None, datetime.date(2025, 2, 20), number])
    workbook.save(tmp_path / "prefattura.xlsx")
    table = open_table(
        (tmp_path / "prefattura.xlsx").read_bytes(),
        "prefattura.xlsx",
        expected_headers=PRE_INVOICE_HEADERS,
    )

    numbers = [number for number, _ in itertools.islice(table.rows, 2500)]
    # The reading process is killed (the system short of memory, say): openpyxl goes on.
    for pid in calamine_processes():
        os.kill(pid, signal.SIGKILL)
    numbers += [number for number, _ in table.rows]

    assert numbers == list(range(2, 10_002))
    assert calamine_processes() == []


def test_a_sheet_spread_wide_by_one_stray_value_is_read_by_openpyxl(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 7,000 rows by 16,384 columns: calamine would set out 114 million cells.
    data = one_payment_xlsx("XFD7000")

    with caplog.at_level(logging.INFO, logger="imports.readers.xlsx_calamine"):
        table = open_table(data, "p.xlsx", expected_headers=PRE_INVOICE_HEADERS)
        rows = list(table.rows)

    assert "Sheet spread over 7000 rows and 16384 columns" in caplog.text
    assert rows[0] == ONE_PAYMENT
    assert rows[-1][0] == 7000
