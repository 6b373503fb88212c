"""Workbooks other than .xlsx: Excel 97-2003 (.xls) and OpenDocument (.ods), read with calamine
alone.

Creditors still export these from older systems. calamine hands numbers over as doubles, which
keep every amount to the cent and every integer up to 15 digits (all that Excel itself keeps);
error cells (#N/A) come as empty cells, so a row with one in a required column is reported as
missing that value rather than naming the error.
"""

from __future__ import annotations

import datetime
import io
import logging
from collections.abc import Iterator, Sequence

from python_calamine import CalamineSheet, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from imports.readers.base import (
    Cell,
    FileFormat,
    ReadError,
    Record,
    Table,
    clean_text,
    fit_width,
    locate_header,
    ods_error,
    xls_error,
)
from imports.readers.xlsx_calamine import Ambiguous, calamine_cell
from imports.readers.xlsx_files import pick_sheet_name

logger = logging.getLogger(__name__)


def open_workbook(
    data: bytes, kind: str, expected_headers: Sequence[str], sheet: str | None
) -> Table:
    """Open an .xls or .ods file on its chosen sheet; see `imports.readers.open_table`."""
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:
        logger.info("calamine cannot open the %s workbook: %s", kind, exc)
        raise damaged_error(kind) from exc
    with workbook:
        worksheets = [m for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        visible = [m.name for m in worksheets if m.visible == SheetVisibleEnum.Visible]
        name = pick_sheet_name([m.name for m in worksheets], visible, sheet)
        try:
            worksheet = workbook.get_sheet_by_name(name)
        except Exception as exc:
            logger.info("calamine cannot read the sheet %r: %s", name, exc)
            raise damaged_error(kind) from exc
    header_row, headers, records = locate_header(_records(worksheet), expected_headers)
    file_format = FileFormat(kind, None, None, name, header_row)
    last_row = worksheet.end[0] + 1 if worksheet.end else 0
    return Table(file_format, headers, fit_width(records, len(headers)), last_row - header_row)


def damaged_error(kind: str) -> ReadError:
    return xls_error() if kind == "xls" else ods_error()


def _records(worksheet: CalamineSheet) -> Iterator[Record]:
    """The sheet's non-empty rows with their real row numbers."""
    if worksheet.start is None:
        return
    # calamine's rows start at row 1, its columns at the first one used.
    padding: list[Cell] = [None] * worksheet.start[1]
    for index, values in enumerate(worksheet.iter_rows(), start=1):
        cells = padding + [_cell(value) for value in values]
        if any(cell is not None for cell in cells):
            yield index, cells


def _cell(value: object) -> Cell:
    try:
        return calamine_cell(value)
    except Ambiguous:
        # No exact reading to fall back on: a date as calamine tells it, a time as text.
        if isinstance(value, datetime.date):
            return value
        return clean_text(str(value))
