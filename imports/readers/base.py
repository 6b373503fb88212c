"""What every reader produces: cells, the table, the header found, and the errors users see."""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePath
from typing import TypeAlias

from django.utils.translation import gettext as _


class ReadError(Exception):
    """The file as a whole cannot be read; str(e) is one clear actionable sentence for the user."""


@dataclass(frozen=True)
class CellError:
    """A spreadsheet error value (#N/A, #VALUE!...) kept apart so no caller mistakes it for data."""

    code: str
    coordinate: str

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class FileFormat:
    kind: str  # "csv", "xlsx", "xls" or "ods"
    encoding: str | None  # CSV only: "utf-8-sig", "utf-8", "cp1252" (rarely "latin-1", "utf-16")
    delimiter: str | None  # CSV only: ";", ",", "\t" or "|"
    sheet: str | None  # workbooks only: the name of the sheet read
    header_row: int  # row number of the header line, numbered as in `Table.rows`


Cell: TypeAlias = str | int | Decimal | datetime.date | datetime.datetime | CellError | None


@dataclass
class Table:
    """A file opened for reading: its header, and its data rows produced on demand.

    `rows` yields `(row number, cells)` for every non-empty row after the header. It may raise
    `ReadError` while iterating if the file turns out to be damaged further down.
    """

    format: FileFormat
    headers: list[str]
    rows: Iterator[tuple[int, list[Cell]]]
    # About how many rows follow the header, for progress bars; 0 when unknown.
    estimated_rows: int = 0


Record: TypeAlias = tuple[int, list[Cell]]


# The header may sit below a few title lines; looking further would mistake data for a header.
HEADER_SEARCH_ROWS = 30


def normalise_header(text: str) -> str:
    """The comparable form of a header: "  Num_Pratica " and "num pratica" are the same."""
    return " ".join(text.replace("_", " ").replace("\ufeff", "").split()).casefold()


def clean_text(text: str) -> str | None:
    return text.strip() or None  # str.strip also removes non-breaking spaces


def extension(filename: str) -> str:
    return PurePath(filename).suffix.lower()


def xls_error() -> ReadError:
    return ReadError(
        _(
            "The Excel 97-2003 (.xls) file cannot be read: it is damaged, protected by a password "
            "or not a spreadsheet. Open it, save it as an Excel Workbook (.xlsx) or as CSV and "
            "upload it again."
        )
    )


def ods_error() -> ReadError:
    return ReadError(
        _(
            "The OpenDocument (.ods) file cannot be read: it is damaged or not a spreadsheet. "
            "Open it, save it as an Excel Workbook (.xlsx) or as CSV and upload it again."
        )
    )


def damaged_xlsx_error() -> ReadError:
    return ReadError(
        _(
            "The Excel file is damaged or incomplete: open it in Excel, save it again as .xlsx "
            "and upload it again."
        )
    )


def not_a_spreadsheet_error() -> ReadError:
    return ReadError(
        _("This file is not a spreadsheet: upload an Excel Workbook (.xlsx) or a CSV file.")
    )


def wanted_headers(expected_headers: Iterable[str]) -> frozenset[str]:
    return frozenset(n for n in map(normalise_header, expected_headers) if n)


def header_score(cells: Sequence[Cell], wanted: frozenset[str]) -> int:
    return len(wanted & {normalise_header(_header_text(cell)) for cell in cells})


def _header_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime.date):
        return cell.strftime("%d/%m/%Y")
    return str(cell)


def locate_header(
    records: Iterator[Record], expected_headers: Sequence[str]
) -> tuple[int, list[str], Iterator[Record]]:
    wanted = wanted_headers(expected_headers)
    candidates = list(itertools.islice(records, HEADER_SEARCH_ROWS if wanted else 1))
    if not candidates:
        raise ReadError(_("The file contains no data: every row is empty."))
    best = 0
    if wanted:
        scores = [header_score(cells, wanted) for _, cells in candidates]
        best = scores.index(max(scores))  # no match at all: the first row, like without hints
    header_row, header_cells = candidates[best]
    headers = [_header_text(cell) for cell in header_cells]
    while headers and not headers[-1]:
        headers.pop()
    return header_row, headers, itertools.chain(candidates[best + 1 :], records)


def fit_width(records: Iterable[Record], width: int) -> Iterator[Record]:
    """Pad short rows to the header's width; drop the empty tail beyond it (XLSX styling)."""
    for number, cells in records:
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        else:
            while len(cells) > width and cells[-1] is None:
                cells.pop()
        yield number, cells
