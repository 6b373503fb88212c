"""Workbooks other than .xlsx: Excel 97-2003 (.xls) and OpenDocument (.ods), read with calamine
alone.

Creditors still export these from older systems. calamine hands numbers over as doubles, which
keep every amount to the cent and every integer up to 15 digits (all that Excel itself keeps);
error cells (#N/A) come as empty cells, so a row with one in a required column is reported as
missing that value rather than naming the error. calamine runs in a process of its own with a
memory limit: one damaged byte of an .xls can make it ask for tens of gigabytes and abort.
"""

from __future__ import annotations

import datetime
import logging
import pickle
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
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
from imports.readers.xlsx_calamine import Ambiguous, calamine_cell
from imports.readers.xlsx_files import pick_sheet_name

logger = logging.getLogger(__name__)

CHILD = Path(__file__).with_name("calamine_process.py")
# The reading process may use this much address space, and more for a larger file (a file of
# the 65,536 rows and 256 columns .xls allows takes about 600 MiB). A damaged file asking for
# more is refused instead of exhausting the machine.
MEMORY_LIMIT = 2 * 1024**3
MEMORY_PER_BYTE = 16
TIMEOUT = 600


def open_workbook(
    data: bytes, kind: str, expected_headers: Sequence[str], sheet: str | None
) -> Table:
    """Open an .xls or .ods file on its chosen sheet; see `imports.readers.open_table`."""
    sheets = read_sheets(data, kind)
    visible = [name for name, shown, *_ in sheets if shown]
    name = pick_sheet_name([name for name, *_ in sheets], visible, sheet)
    _, _, start, end, rows = next(found for found in sheets if found[0] == name)
    header_row, headers, records = locate_header(_records(start, rows), expected_headers)
    file_format = FileFormat(kind, None, None, name, header_row)
    last_row = end[0] + 1 if end else 0
    return Table(file_format, headers, fit_width(records, len(headers)), last_row - header_row)


def read_sheets(data: bytes, kind: str) -> list[tuple[Any, ...]]:
    """Every worksheet of the file as (name, visible, start, end, rows), read by calamine in a
    process of its own; a ReadError when it fails, runs out of memory or of time."""
    limit = MEMORY_LIMIT + MEMORY_PER_BYTE * len(data)
    try:
        child = subprocess.run(  # noqa: S603 (our own script, run by this interpreter)
            [sys.executable, "-I", str(CHILD), str(limit)],
            input=data,
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        logger.info("calamine took over %s s on the %s workbook", TIMEOUT, kind)
        raise damaged_error(kind) from exc
    try:
        # What our own script wrote: calamine's values, pickled by that script.
        outcome, result = pickle.loads(child.stdout)  # noqa: S301
    except Exception as exc:
        # Killed or aborted: typically a damaged file asking for more memory than allowed.
        logger.info(
            "calamine stopped on the %s workbook (exit %s): %s",
            kind,
            child.returncode,
            child.stderr[-500:].decode(errors="replace"),
        )
        raise damaged_error(kind) from exc
    if outcome != "sheets":
        logger.info("calamine cannot read the %s workbook: %s", kind, result)
        raise damaged_error(kind)
    sheets: list[tuple[Any, ...]] = result
    return sheets


def damaged_error(kind: str) -> ReadError:
    return xls_error() if kind == "xls" else ods_error()


def _records(start: tuple[int, int] | None, rows: list[list[Any]]) -> Iterator[Record]:
    """The sheet's non-empty rows with their real row numbers."""
    if start is None:
        return
    # calamine's rows start at row 1, its columns at the first one used.
    padding: list[Cell] = [None] * start[1]
    for index, values in enumerate(rows, start=1):
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
