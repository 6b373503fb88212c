"""Excel .xlsx workbooks: cells keep the type the spreadsheet stored."""

from __future__ import annotations

import datetime
import io
import re
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import coordinate_to_tuple, get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH
from openpyxl.worksheet._reader import VALUE_TAG, WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

from imports.readers.base import (
    Cell,
    CellError,
    FileFormat,
    ReadError,
    Record,
    Table,
    clean_text,
    damaged_xlsx_error,
    extension,
    fit_width,
    locate_header,
    normalise_header,
    not_a_spreadsheet_error,
    ods_error,
)

_INLINE_STRING = f"{{{SHEET_MAIN_NS}}}is"
_TEXT = f"{{{SHEET_MAIN_NS}}}t"
_RUN_TEXT = f"{{{SHEET_MAIN_NS}}}r/{{{SHEET_MAIN_NS}}}t"
_DIMENSION = re.compile(r'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')
# Excel writes numbers as doubles with up to 17 significant digits, so a typed 2.2 can be stored
# as "2.2000000000000002". Excel itself never shows more than 15 significant digits, so rounding a
# fractional number to 15 recovers exactly what the user saw and typed.
EXCEL_PRECISION = Context(prec=15, rounding=ROUND_HALF_UP)
_MS_PER_DAY = 86_400_000


def check_package(data: bytes, filename: str) -> None:
    """Raise a ReadError naming what the archive is when it is not a readable .xlsx package."""
    if package_kind(data, filename) != "xlsx":
        raise damaged_xlsx_error()


def package_kind(data: bytes, filename: str) -> str:
    """What workbook a ZIP archive holds: "xlsx" or "ods"; a ReadError otherwise."""
    suffix = extension(filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise (ods_error() if suffix == ".ods" else damaged_xlsx_error()) from exc
    if "xl/workbook.xml" in names:
        return "xlsx"
    if b"opendocument.spreadsheet" in mimetype:
        return "ods"
    if "xl/workbook.bin" in names:
        raise ReadError(
            _(
                "Excel binary workbooks (.xlsb) are not supported: open the file in Excel and "
                "save it as an Excel Workbook (.xlsx) or as CSV."
            )
        )
    if suffix == ".ods":
        raise ods_error()
    if suffix in {".xlsx", ".xlsm", ".xlsb"}:
        raise damaged_xlsx_error()
    raise not_a_spreadsheet_error()


def open_xlsx_exact(data: bytes, expected_headers: Sequence[str], sheet: str | None) -> Table:
    """Read a checked package with openpyxl, cell by cell from the sheet XML, streaming."""
    workbook = _load(data)
    try:
        worksheet = _pick_sheet(workbook, sheet)
        declared_rows = _declared_rows(worksheet)
        header_row, headers, records = locate_header(
            _xlsx_records(workbook, worksheet), expected_headers
        )
    except BaseException:
        workbook.close()
        raise
    file_format = FileFormat("xlsx", None, None, worksheet.title, header_row)
    # The sheet's declared size may count formatted empty rows: an estimate, not a count.
    estimate = max(declared_rows - header_row, 0)
    return Table(file_format, headers, fit_width(records, len(headers)), estimate)


def exact_records(data: bytes, sheet: str) -> Iterator[Record]:
    """The rows of the sheet named `sheet` exactly as `open_xlsx_exact` reads them."""
    workbook = _load(data)
    yield from _xlsx_records(workbook, _pick_sheet(workbook, sheet))


def _load(data: bytes) -> Any:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about harmless quirks (missing default style, unknown extensions).
            warnings.simplefilter("ignore")
            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        # A damaged package fails in many ways inside openpyxl; the user only needs to know which.
        raise damaged_xlsx_error() from exc


def _pick_sheet(workbook: Any, sheet: str | None) -> Any:
    worksheets = {ws.title: ws for ws in workbook.worksheets}
    visible = [ws.title for ws in workbook.worksheets if ws.sheet_state == "visible"]
    return worksheets[pick_sheet_name(list(worksheets), visible, sheet)]


def pick_sheet_name(titles: list[str], visible: list[str], sheet: str | None) -> str:
    """The sheet asked for by name, or else the first visible worksheet."""
    if sheet is None:
        if visible or titles:
            return (visible or titles)[0]
        raise ReadError(_("The Excel file contains no worksheet."))
    if sheet in titles:
        return sheet
    # Users retype sheet names; trailing spaces and case are invisible in Excel's tabs.
    for title in titles:
        if normalise_header(title) == normalise_header(sheet):
            return title
    raise ReadError(
        _("The Excel file has no sheet named “%(sheet)s”; its sheets are: %(sheets)s.")
        % {"sheet": sheet, "sheets": ", ".join(f"“{title}”" for title in titles)}
    )


def _xlsx_records(workbook: Any, worksheet: Any) -> Iterator[Record]:
    """Stream the sheet's non-empty rows with their real row numbers.

    Rows come straight from the sheet XML rather than through `iter_rows`, which pads up to the
    declared dimension: styled empty rows far below the data would otherwise cost time, and
    numbers would be cast to float.
    """
    try:
        with worksheet._get_source() as source:
            parser = _ExactWorkSheetParser(
                source,
                worksheet._shared_strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=workbook._date_formats,
                timedelta_formats=workbook._timedelta_formats,
            )
            for number, parsed in parser.parse():
                cells: list[Cell] = []
                for item in parsed:
                    value = _xlsx_value(item["value"])
                    if value is None:
                        continue
                    column = item["column"]
                    if column > len(cells):
                        cells.extend([None] * (column - len(cells)))
                    cells[column - 1] = value
                if cells:
                    yield number, cells
    except ReadError:
        raise
    except Exception as exc:
        raise damaged_xlsx_error() from exc
    finally:
        workbook.close()


def _xlsx_value(value: Any) -> Cell:
    if value is None or isinstance(value, int | Decimal | CellError):
        return value  # bool never gets here: the parser turns it into text first
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, datetime.date):
        return value
    # Rare leftovers: ISO time or duration cells (t="d"), rich text objects.
    return clean_text(str(value))


class _ExactWorkSheetParser(WorkSheetParser):  # type: ignore[misc]
    """openpyxl's sheet parser, minus the float: numbers come out as int or exact Decimal.

    openpyxl casts every numeric cell through float, which makes an amount such as 0.1 a binary
    approximation and a 19-digit contract number lose its last digits. Subclassing
    (instead of patching `_cast_number` in openpyxl's module) keeps the rest of the process,
    including other code using openpyxl, on the library's normal behaviour.
    """

    def parse_cell(self, element: Any) -> dict[str, Any]:
        data_type = element.get("t", "n")
        if data_type == "n":
            return self._parse_number(element)
        if data_type == "inlineStr":
            return self._parse_inline_string(element)
        cell: dict[str, Any] = super().parse_cell(element)
        if cell["data_type"] == "e" and cell["value"] is not None:
            cell["value"] = CellError(str(cell["value"]), _coordinate(element, cell))
        elif cell["data_type"] == "b" and cell["value"] is not None:
            cell["value"] = "TRUE" if cell["value"] else "FALSE"
        return cell

    def _position(self, element: Any) -> tuple[int, int]:
        coordinate = element.get("r")
        if coordinate:
            row, column = coordinate_to_tuple(coordinate)
            self.col_counter = column
            return row, column
        self.col_counter += 1
        return self.row_counter, self.col_counter

    def _parse_number(self, element: Any) -> dict[str, Any]:
        row, column = self._position(element)
        style_id = int(element.get("s") or 0)
        text = element.findtext(VALUE_TAG)
        value: Cell = None
        if text and text.strip():
            value = self._number(text.strip(), style_id)
        return {
            "row": row,
            "column": column,
            "value": value,
            "data_type": "n",
            "style_id": style_id,
        }

    def _parse_inline_string(self, element: Any) -> dict[str, Any]:
        # openpyxl builds a rich-text object per inline string, several times slower than
        # reading its text runs; phonetic runs (rPh) are not part of the value.
        row, column = self._position(element)
        inline = element.find(_INLINE_STRING)
        runs = [] if inline is None else inline.findall(_TEXT) + inline.findall(_RUN_TEXT)
        return {
            "row": row,
            "column": column,
            "value": "".join(node.text or "" for node in runs),
            "data_type": "s",
            "style_id": int(element.get("s") or 0),
        }

    def _number(self, text: str, style_id: int) -> Cell:
        try:
            number = Decimal(text)
        except InvalidOperation:
            return text
        if not number.is_finite():
            return text
        if style_id in self.date_formats and style_id not in self.timedelta_formats:
            moment = _serial_to_datetime(number, self.epoch)
            if moment is not None:
                return moment
            # Time-only or out-of-range serials stay numbers; the date parser explains why.
        return exact_number(number)


def _declared_rows(worksheet: Any) -> int:
    """The last row of the sheet's <dimension>, read from the start of its XML.

    openpyxl's `max_row` scans the whole sheet when a writer left the dimension out.
    """
    with worksheet._get_source() as source:
        head = source.read(4096).decode("utf-8", "replace")
    match = _DIMENSION.search(head)
    return int(match.group(1)) if match else 0


def _coordinate(element: Any, cell: dict[str, Any]) -> str:
    return str(element.get("r") or f"{get_column_letter(cell['column'])}{cell['row']}")


def exact_number(number: Decimal) -> int | Decimal:
    if number.adjusted() > 100:
        return number  # absurdly large: not worth materialising as an int
    if number != number.to_integral_value() and len(number.as_tuple().digits) > 15:
        number = EXCEL_PRECISION.plus(number).normalize()
    if number == number.to_integral_value():
        return int(number)
    return number


def _serial_to_datetime(serial: Decimal, epoch: datetime.datetime) -> datetime.datetime | None:
    """Exact conversion of an Excel serial (openpyxl's own `from_excel` needs a float)."""
    day = int(serial.to_integral_value(rounding=ROUND_FLOOR))
    milliseconds = int(((serial - day) * _MS_PER_DAY).to_integral_value(rounding=ROUND_HALF_UP))
    if day < 1:
        return None  # a time of day without a date
    if epoch == WINDOWS_EPOCH:
        if day == 60:
            return None  # 29/02/1900, which Lotus 1-2-3 invented and Excel kept
        if day < 60:
            day += 1
    try:
        return epoch + datetime.timedelta(days=day, milliseconds=milliseconds)
    except OverflowError:
        return None
