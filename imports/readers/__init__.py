"""Turn the bytes of a creditor's file (CSV, Excel .xlsx or .xls, OpenDocument .ods) into rows of
raw cells.

Nothing here interprets a cell's meaning: CSV cells stay text, and XLSX cells keep the type the
spreadsheet stored (text, exact number, date, error). `imports.parsers` turns cells into values.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence

from django.utils.translation import gettext as _

from imports.readers.base import (
    Cell,
    CellError,
    FileFormat,
    ReadError,
    Table,
    damaged_xlsx_error,
    extension,
    normalise_header,
    not_a_spreadsheet_error,
    ods_error,
    xls_error,
)
from imports.readers.csv_files import open_csv
from imports.readers.other_workbooks import open_workbook
from imports.readers.xlsx_calamine import open_xlsx
from imports.readers.xlsx_files import package_kind

__all__ = [
    "Cell",
    "CellError",
    "FileFormat",
    "ReadError",
    "Table",
    "normalise_header",
    "open_table",
]

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_BLANK_BYTES = re.compile(rb"[ \t\r\n\f\v\x00]*")  # NUL too: blank UTF-16 is spaces and NULs
# Control characters never found in text files (tab, line breaks and form feed are excluded).
_CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1A}


def open_table(
    data: bytes,
    filename: str,
    *,
    expected_headers: Sequence[str] = (),
    sheet: str | None = None,
) -> Table:
    """Open a creditor's file and locate its header row.

    With `expected_headers`, the header is the row among the first 30 that contains most of them
    (so title lines above it are skipped); otherwise it is the first non-empty row. Raises
    `ReadError` when the file cannot be read at all.
    """
    if _is_blank(data):
        raise ReadError(_("The file is empty."))
    if data.startswith(_ZIP_MAGICS):
        kind = package_kind(data, filename)
        if kind != "xlsx":
            return open_workbook(data, kind, expected_headers, sheet)
        return open_xlsx(data, filename, expected_headers, sheet)
    if data.startswith(_OLE2_MAGIC) and extension(filename) not in {".xlsx", ".xlsm"}:
        return open_workbook(data, "xls", expected_headers, sheet)
    _reject_binary(data, filename)
    return open_csv(data, expected_headers)


def _is_blank(data: bytes) -> bool:
    start = 0
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            start = len(bom)
            break
    # A regex stops at the first meaningful byte instead of copying a large file to strip it.
    return _BLANK_BYTES.fullmatch(data, start) is not None


def _reject_binary(data: bytes, filename: str) -> None:
    """Raise a ReadError naming what the file is when it cannot be text."""
    suffix = extension(filename)
    if data.startswith(_OLE2_MAGIC):
        if suffix in {".xlsx", ".xlsm"}:
            # Excel wraps password-protected workbooks in the old compound-file container.
            raise ReadError(
                _(
                    "The Excel file is protected by a password: remove the password in Excel, "
                    "save the file and upload it again."
                )
            )
        raise xls_error()
    if data.startswith(b"%PDF"):
        raise ReadError(
            _(
                "This file is a PDF document, not a spreadsheet: export the data as an Excel "
                "Workbook (.xlsx) or a CSV file."
            )
        )
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        return
    head = data[:8192]
    controls = sum(1 for byte in head if byte in _CONTROL_BYTES)
    if data.startswith(_IMAGE_MAGICS) or b"\x00" in data or controls * 100 > len(head):
        if suffix == ".xls":
            raise xls_error()
        if suffix == ".ods":
            raise ods_error()
        if suffix in {".xlsx", ".xlsm"}:
            raise damaged_xlsx_error()
        raise not_a_spreadsheet_error()
