"""Workbooks other than .xlsx: Excel 97-2003 (.xls) and OpenDocument (.ods), read with calamine
alone.

Creditors still export these from older systems. calamine hands numbers over as doubles, which
keep every amount to the cent and every integer up to 15 digits (all that Excel itself keeps);
error cells (#N/A) come as empty cells, so a row with one in a required column is reported as
missing that value rather than naming the error. calamine runs in a process of its own with a
memory limit (`imports.readers.calamine_reader`): one damaged byte of an .xls can make it ask
for tens of gigabytes and abort, which then refuses the file and nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator, Sequence
from typing import Any

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
from imports.readers.calamine_reader import CalamineChild, CalamineFailed
from imports.readers.xlsx_calamine import Ambiguous, calamine_cell
from imports.readers.xlsx_files import pick_sheet_name


def open_workbook(
    data: bytes, kind: str, expected_headers: Sequence[str], sheet: str | None
) -> Table:
    """Open an .xls or .ods file on its chosen sheet; see `imports.readers.open_table`."""
    child = CalamineChild(data, f".{kind}")
    try:
        worksheets = child.sheets()
        visible = [name for name, shown in worksheets if shown]
        name = pick_sheet_name([name for name, _ in worksheets], visible, sheet)
        start, end = child.open(name)
    except CalamineFailed as exc:
        raise damaged_error(kind) from exc
    except BaseException:
        child.close()
        raise
    if start is None:
        child.close()  # an empty sheet: no row will be asked for
    header_row, headers, records = locate_header(
        _records(start, child.rows(), kind), expected_headers
    )
    file_format = FileFormat(kind, None, None, name, header_row)
    last_row = end[0] + 1 if end else 0
    return Table(file_format, headers, fit_width(records, len(headers)), last_row - header_row)


def damaged_error(kind: str) -> ReadError:
    return xls_error() if kind == "xls" else ods_error()


def _records(
    start: tuple[int, int] | None, rows: Iterator[list[Any]], kind: str
) -> Iterator[Record]:
    """The sheet's non-empty rows with their real row numbers."""
    if start is None:
        return
    # calamine's rows start at row 1, its columns at the first one used.
    padding: list[Cell] = [None] * start[1]
    try:
        for index, values in enumerate(rows, start=1):
            cells = padding + [_cell(value) for value in values]
            if any(cell is not None for cell in cells):
                yield index, cells
    except CalamineFailed as exc:
        raise damaged_error(kind) from exc


def _cell(value: object) -> Cell:
    try:
        return calamine_cell(value)
    except Ambiguous:
        # No exact reading to fall back on: a date as calamine tells it, a time as text.
        if isinstance(value, datetime.date):
            return value
        return clean_text(str(value))
