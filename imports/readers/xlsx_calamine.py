"""Excel .xlsx workbooks read with calamine, with openpyxl kept for what calamine cannot tell.

calamine parses a sheet ten times faster than openpyxl, but hands every number over as a float,
every error cell (#N/A) as empty text, and two serials as the same date. The cells where that
loses something (errors, and integers of 16 digits or more, such as contract numbers) are found
by a quick scan of the sheet's XML and read exactly from it. openpyxl reads the sheet instead
when such a cell has no coordinate or the sheet is too large to hold in memory, and takes over
from the first date calamine cannot tell apart.
"""

from __future__ import annotations

import datetime
import io
import logging
import math
import re
import zipfile
from collections.abc import Callable, Generator, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from openpyxl.reader.workbook import WorkbookParser
from openpyxl.utils import column_index_from_string, coordinate_to_tuple

from imports.readers.base import (
    Cell,
    CellError,
    FileFormat,
    Record,
    Table,
    clean_text,
    fit_width,
    locate_header,
)
from imports.readers.calamine_reader import CalamineChild, CalamineFailed
from imports.readers.xlsx_files import (
    check_package,
    exact_number,
    exact_records,
    open_xlsx_exact,
    pick_sheet_name,
)

logger = logging.getLogger(__name__)

# Exact cells, by row number then column number (both from 1).
_ExactCells = dict[int, dict[int, Cell]]

# calamine reads both 59 and 60 (the 29/02/1900 Excel keeps from Lotus 1-2-3) as 28/02/1900.
_FIRST_CERTAIN_DAY = datetime.datetime.combine(datetime.date(1900, 3, 1), datetime.time())
# A double holds every integer up to 2**53 exactly; beyond, digits are lost.
_EXACT_FLOAT_INTEGERS = 2**53
_SCAN_CHUNK = 1 << 20
# calamine holds a whole sheet, about 1.5 bytes of memory per byte of its XML (130 MiB for
# 100,000 rows of 16 columns); past this size openpyxl streams it in little memory instead.
_LARGEST_SHEET_XML = 256 * 1024 * 1024
# calamine sets a sheet out as a rectangle of 32-byte cells from A1 to its last cell: one stray
# value in XFD7000 makes 114 million of them. Past this many cells openpyxl, which holds one row
# at a time, reads the sheet. The scan looks at row numbers in order and at cell references in
# `<c r="…">` form, as Excel and other writers put them; a sheet written otherwise that would
# need all memory still only ends calamine's process (see `calamine_reader`).
_MOST_CELLS = 32 * 1024 * 1024
_ROW_NUMBER = re.compile(rb"""<(?:\w+:)?row\b[^>]*?\sr\s*=\s*["'](\d+)""")
# Rows come in order: the last row of a section is in its last bytes, unless rows are long.
_ROW_TAIL = 64 * 1024
# Cells past column Z, which alone can make a sheet wide; a fixed start keeps the scan fast.
_WIDE_CELLS = (
    re.compile(rb'<c r="([A-Z]{2,3})\d'),
    re.compile(rb':c r="([A-Z]{2,3})\d'),
)
# An error cell, and a number of 16 digits or more (at most 15 survive a float). Two patterns
# starting with fixed text are searched much faster than one with alternatives.
_LOSSY_CELLS = (
    re.compile(rb"""t=["']e["']"""),
    re.compile(rb"v>\s*[-+]?\d{16}"),
)
_CELL_START = re.compile(rb"<(?:\w+:)?c\b")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_ATTRIBUTE = re.compile(rb"""(?<![\w:])([rt])\s*=\s*["']([^"']*)["']""")
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</")


def open_xlsx(
    data: bytes, filename: str, expected_headers: Sequence[str], sheet: str | None
) -> Table:
    """Open an .xlsx file on its chosen sheet; see `imports.readers.open_table`.

    calamine reads in a process of its own (`imports.readers.calamine_reader`): a sheet it
    cannot read, or that would take more memory than allowed (one stray value in XFD1048576
    makes it set out 17 billion cells), is read by openpyxl instead, which also words the
    errors of a damaged package.
    """
    check_package(data, filename)
    child = CalamineChild(data, ".xlsx")
    try:
        try:
            worksheets = child.sheets()
        except CalamineFailed:
            logger.info("calamine cannot open the workbook; reading it with openpyxl")
            return open_xlsx_exact(data, expected_headers, sheet)
        visible = [name for name, shown in worksheets if shown]
        name = pick_sheet_name([name for name, _ in worksheets], visible, sheet)
        exact = _exact_cells(data, name)
        if exact is None:
            logger.info("Sheet to read cell by cell; reading it with openpyxl")
            child.close()
            return open_xlsx_exact(data, expected_headers, sheet)
        try:
            start, end = child.open(name)
        except CalamineFailed:
            logger.info("calamine cannot read the sheet; reading it with openpyxl")
            return open_xlsx_exact(data, expected_headers, sheet)
    except BaseException:
        child.close()
        raise
    if start is None:
        child.close()  # an empty sheet: no row will be asked for

    records = _records(start, child.rows(), exact, lambda: exact_records(data, name))
    header_row, headers, records = locate_header(records, expected_headers)
    file_format = FileFormat("xlsx", None, None, name, header_row)
    last_row = end[0] + 1 if end else 0
    return Table(file_format, headers, fit_width(records, len(headers)), last_row - header_row)


class Ambiguous(Exception):
    """calamine's value stands for more than one cell of the file."""


def _records(
    start: tuple[int, int] | None,
    rows: Generator[list[Any], None, None],
    exact: _ExactCells,
    exact_reading: Callable[[], Iterator[Record]],
) -> Iterator[Record]:
    """The sheet's non-empty rows with their real row numbers, exact cells laid over calamine's.

    From the first cell that calamine's value cannot tell apart, or if calamine stops halfway,
    `exact_reading` takes over.
    """
    if start is None:
        return
    # calamine's rows start at row 1, its columns at the first one used.
    padding: list[Cell] = [None] * start[1]
    number = 0
    try:
        for index, values in enumerate(rows):
            number = index + 1
            # Text is most cells: handled inline, since this runs for every cell of large files.
            cells = padding + [
                (value.strip() or None) if value.__class__ is str else calamine_cell(value)
                for value in values
            ]
            if number in exact:
                for column, cell in exact[number].items():
                    cells.extend([None] * (column - len(cells)))
                    cells[column - 1] = cell
            if any(cell is not None for cell in cells):
                yield number, cells
    except Ambiguous:
        # This row was not given: openpyxl reads it again.
        logger.info("Row %s holds a serial calamine cannot tell apart; openpyxl goes on", number)
        resume = number
    except CalamineFailed:
        # Rows up to this one were given: openpyxl goes on after it.
        logger.info("calamine stopped after row %s; openpyxl goes on", number)
        resume = number + 1
    else:
        return
    finally:
        rows.close()
    yield from (record for record in exact_reading() if record[0] >= resume)


def calamine_cell(value: object) -> Cell:
    """One of calamine's values as the cell openpyxl's exact reader gives for it."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, datetime.date):
        if not isinstance(value, datetime.datetime):
            value = datetime.datetime.combine(value, datetime.time())
        if value < _FIRST_CERTAIN_DAY:
            raise Ambiguous
        return value
    if isinstance(value, datetime.time | datetime.timedelta):
        # Times without a date, durations and negative serials: the file's number is what counts.
        raise Ambiguous
    return clean_text(str(value))


def _number(value: float) -> Cell:
    if value.is_integer() and abs(value) < _EXACT_FLOAT_INTEGERS:
        return int(value)
    if not math.isfinite(value):
        return str(value)
    # repr is the shortest text giving back the same double: what the file held, up to 15 digits.
    return exact_number(Decimal(repr(value)))


def _exact_cells(data: bytes, sheet: str) -> _ExactCells | None:
    """Error cells and long integers of the sheet, read from its XML; None when the sheet must
    be read cell by cell: too large to hold whole, or such a cell has no coordinate."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parser = WorkbookParser(archive, "xl/workbook.xml")
            parser.parse()
            paths = {ws.name: rel.target.lstrip("/") for ws, rel in parser.find_sheets()}
            if archive.getinfo(paths[sheet]).file_size > _LARGEST_SHEET_XML:
                logger.info("Sheet too large to hold in memory; reading it with openpyxl")
                return None
            with archive.open(paths[sheet]) as stream:
                return _scan(stream)
    except Exception:
        return None


def _scan(stream: IO[bytes]) -> _ExactCells | None:
    exact: _ExactCells = {}
    tail = b""
    last_row, last_column = 0, 26
    while True:
        chunk = stream.read(_SCAN_CHUNK)
        buffer = tail + chunk
        # Cut after the last row tag, so that no cell is split between two scans.
        cut = len(buffer) if not chunk else buffer.rfind(b"row>") + 4 if b"row>" in buffer else 0
        section, tail = buffer[:cut], buffer[cut:]
        rows = _ROW_NUMBER.findall(section[-_ROW_TAIL:]) or _ROW_NUMBER.findall(section)
        last_row = max([last_row, *map(int, rows)])
        wide = {column.decode() for pattern in _WIDE_CELLS for column in pattern.findall(section)}
        last_column = max([last_column, *map(column_index_from_string, wide)])
        if last_row * last_column > _MOST_CELLS:
            logger.info("Sheet spread over %s rows and %s columns", last_row, last_column)
            return None
        for pattern in _LOSSY_CELLS:
            for match in pattern.finditer(section):
                if not _read_exact_cell(section, match.start(), exact):
                    return None
        if not chunk:
            return exact


def _read_exact_cell(section: bytes, position: int, exact: _ExactCells) -> bool:
    """Record the cell around `position` in `exact`; False when it has no coordinate."""
    start = section.rfind(b"<", 0, position + 1)
    while start > 0 and not _CELL_START.match(section, start):
        start = section.rfind(b"<", 0, start)
    cell = _CELL.match(section, max(start, 0))
    if cell is None:
        return False
    attributes = dict(_ATTRIBUTE.findall(cell.group(1)))
    value = _VALUE.search(cell.group(2) or b"")
    if b"r" not in attributes:
        return False
    if value is None:
        return True
    coordinate = attributes[b"r"].decode()
    row, column = coordinate_to_tuple(coordinate)
    text = value.group(1).decode().strip()
    kind = attributes.get(b"t", b"n")
    if kind == b"e":
        exact.setdefault(row, {})[column] = CellError(text, coordinate)
    elif kind == b"n":
        try:
            number = Decimal(text)
        except InvalidOperation:
            return True
        if number.is_finite():
            exact.setdefault(row, {})[column] = exact_number(number)
    return True
