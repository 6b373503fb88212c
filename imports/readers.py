"""Turn the bytes of a creditor's file (CSV or Excel .xlsx) into rows of raw cells.

Nothing here interprets a cell's meaning: CSV cells stay text, and XLSX cells keep the type the
spreadsheet stored (text, exact number, date, error). `imports.parsers` turns cells into values.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import itertools
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any, TypeAlias

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import coordinate_to_tuple, get_column_letter
from openpyxl.utils.datetime import WINDOWS_EPOCH
from openpyxl.worksheet._reader import VALUE_TAG, WorkSheetParser
from openpyxl.xml.constants import SHEET_MAIN_NS

__all__ = [
    "Cell",
    "CellError",
    "FileFormat",
    "ReadError",
    "Table",
    "normalise_header",
    "open_table",
]


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
    kind: str  # "csv" or "xlsx"
    encoding: str | None  # CSV only: "utf-8-sig", "utf-8", "cp1252" (rarely "latin-1", "utf-16")
    delimiter: str | None  # CSV only: ";", ",", "\t" or "|"
    sheet: str | None  # XLSX only: the name of the sheet read
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


_Record: TypeAlias = tuple[int, list[Cell]]

# The header may sit below a few title lines; looking further would mistake data for a header.
_HEADER_SEARCH_ROWS = 30
_DELIMITERS = (";", ",", "\t", "|")
# Enough text to see the first records whatever their width, without scanning a huge file.
_SNIFF_CHARS = 65_536

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_IMAGE_MAGICS = (b"\x89PNG", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
_SEP_LINE = re.compile(r'"?sep=(.)"?(?:\1)*[ ]*(?:\r\n|\r|\n|$)', re.IGNORECASE)
_MARKUP_START = re.compile(r"\s*<(?:\?xml|!doctype|html|table)\b", re.IGNORECASE)
_BLANK_BYTES = re.compile(rb"[ \t\r\n\f\v\x00]*")  # NUL too: blank UTF-16 is spaces and NULs
_BLANK_TEXT = re.compile(r"\s*")
# A letter written in UTF-8 (two to four bytes); Windows-1252 text almost never holds one.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_INLINE_STRING = f"{{{SHEET_MAIN_NS}}}is"
_TEXT = f"{{{SHEET_MAIN_NS}}}t"
_RUN_TEXT = f"{{{SHEET_MAIN_NS}}}r/{{{SHEET_MAIN_NS}}}t"
_DIMENSION = re.compile(r'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')
# Control characters never found in text files (tab, line breaks and form feed are excluded).
_CONTROL_BYTES = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1A}

# Excel writes numbers as doubles with up to 17 significant digits, so a typed 2.2 can be stored
# as "2.2000000000000002". Excel itself never shows more than 15 significant digits, so rounding a
# fractional number to 15 recovers exactly what the user saw and typed.
_EXCEL_PRECISION = Context(prec=15, rounding=ROUND_HALF_UP)
_MS_PER_DAY = 86_400_000


def normalise_header(text: str) -> str:
    """The comparable form of a header: "  Num_Pratica " and "num pratica" are the same."""
    return " ".join(text.replace("_", " ").replace("\ufeff", "").split()).casefold()


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
        return _open_xlsx(data, filename, expected_headers, sheet)
    _reject_binary(data, filename)
    return _open_csv(data, expected_headers)


def _is_blank(data: bytes) -> bool:
    start = 0
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            start = len(bom)
            break
    # A regex stops at the first meaningful byte instead of copying a large file to strip it.
    return _BLANK_BYTES.fullmatch(data, start) is not None


def _extension(filename: str) -> str:
    return PurePath(filename).suffix.lower()


def _xls_error() -> ReadError:
    return ReadError(
        _(
            "Old Excel 97-2003 files (.xls) are not supported: open the file in Excel and "
            "save it as an Excel Workbook (.xlsx) or as CSV, then upload it again."
        )
    )


def _ods_error() -> ReadError:
    return ReadError(
        _(
            "OpenDocument spreadsheets (.ods) are not supported: open the file in LibreOffice or "
            "Excel and save it as an Excel Workbook (.xlsx) or as CSV, then upload it again."
        )
    )


def _damaged_xlsx_error() -> ReadError:
    return ReadError(
        _(
            "The Excel file is damaged or incomplete: open it in Excel, save it again as .xlsx "
            "and upload it again."
        )
    )


def _not_a_spreadsheet_error() -> ReadError:
    return ReadError(
        _("This file is not a spreadsheet: upload an Excel Workbook (.xlsx) or a CSV file.")
    )


def _reject_binary(data: bytes, filename: str) -> None:
    """Raise a ReadError naming what the file is when it cannot be text."""
    extension = _extension(filename)
    if data.startswith(_OLE2_MAGIC):
        if extension in {".xlsx", ".xlsm"}:
            # Excel wraps password-protected workbooks in the old compound-file container.
            raise ReadError(
                _(
                    "The Excel file is protected by a password: remove the password in Excel, "
                    "save the file and upload it again."
                )
            )
        raise _xls_error()
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
        if extension == ".xls":
            raise _xls_error()
        if extension == ".ods":
            raise _ods_error()
        if extension in {".xlsx", ".xlsm"}:
            raise _damaged_xlsx_error()
        raise _not_a_spreadsheet_error()


# --- CSV -------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    """Return the text and the name of the encoding it was decoded with."""
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        # Excel's "Unicode text" export; cheap to support and common enough.
        encoding = "utf-16"
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            _refuse_mixed_encodings(data, exc)
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            # cp1252 leaves five bytes undefined; latin-1 maps every byte, so it always succeeds.
            return data.decode("latin-1"), "latin-1"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise ReadError(
            _(
                "The file declares a Unicode encoding but contains invalid characters: save it "
                "again as “CSV UTF-8” and upload it again."
            )
        ) from exc


def _refuse_mixed_encodings(data: bytes, error: UnicodeDecodeError) -> None:
    """A file with valid UTF-8 letters and a few bytes that are not UTF-8 was edited in two
    encodings; reading it as Windows-1252 would garble every accented letter of the UTF-8
    part, so it is refused, naming the first row that is not UTF-8."""
    if not _UTF8_MULTIBYTE.search(data):
        return
    row = data.count(b"\n", 0, error.start) + 1
    raise ReadError(
        _(
            "The file mixes two encodings: it is mostly UTF-8, but row %(row)s has characters "
            "in another encoding. Save it again as “CSV UTF-8” and upload it again."
        )
        % {"row": row}
    ) from error


def _open_csv(data: bytes, expected_headers: Sequence[str]) -> Table:
    text, encoding = _decode(data)
    text = text.rstrip("\x1a")  # DOS end-of-file marker still written by some old programs
    if _BLANK_TEXT.fullmatch(text):
        raise ReadError(_("The file is empty."))
    if _MARKUP_START.match(text):
        raise ReadError(
            _(
                "This file is a web page or an XML document, not a spreadsheet: open it in Excel "
                "and save it as an Excel Workbook (.xlsx) or as CSV."
            )
        )
    # Excel hides its "sep=" line, so row numbers start after it to match what the user sees.
    sep_line = _SEP_LINE.match(text)
    if sep_line:
        delimiter = sep_line.group(1)
        text = text[sep_line.end() :]
    else:
        delimiter = _detect_delimiter(text[:_SNIFF_CHARS], expected_headers)
    header_row, headers, records = _locate_header(_csv_records(text, delimiter), expected_headers)
    if not text.endswith(("\n", "\r")):
        records = _refuse_cut_last_record(records, len(headers))
    file_format = FileFormat("csv", encoding, delimiter, None, header_row)
    estimate = max(text.count("\n") or text.count("\r"), 1) - header_row
    return Table(file_format, headers, _fit(records, len(headers)), max(estimate, 0))


def _refuse_cut_last_record(records: Iterator[_Record], width: int) -> Iterator[_Record]:
    """Hold each record back until the next one shows it was not the file's last.

    A last line that is both unterminated and short of columns is the sign of an upload or a
    copy cut off midway; padding it with empty cells would import half a row as if complete.
    """
    previous: _Record | None = None
    for record in records:
        if previous is not None:
            yield previous
        previous = record
    if previous is None:
        return
    number, cells = previous
    if len(cells) < width:
        raise ReadError(
            _(
                "The file ends in the middle of row %(row)s (%(found)s of %(expected)s columns): "
                "it looks cut off. Nothing was applied; send the complete file."
            )
            % {"row": number, "found": len(cells), "expected": width}
        )
    yield previous


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their endings (CRLF, LF or a bare CR), produced one at a time.

    csv reads records across lines when a quoted value holds a line break. An io.StringIO
    would do the same but keeps a copy of the whole text at four bytes a character.
    """
    for line in _LINE.finditer(text):
        if line.group():
            yield line.group()


def _csv_records(text: str, delimiter: str) -> Iterator[_Record]:
    # newline="" lets csv see every line ending (CRLF, LF and bare CR) and keep quoted ones.
    reader = csv.reader(_lines(text), delimiter=delimiter, strict=False)
    start = 1
    try:
        for fields in reader:
            # Inlined _clean_text: this line runs for every cell of files of millions of cells.
            cells: list[Cell] = [field.strip() or None for field in fields]
            if any(cell is not None for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ReadError(
            _(
                "The file cannot be read from row %(row)s: a quoted value is never closed or is "
                "too long. Check the quotes in that row."
            )
            % {"row": start}
        ) from exc


def _clean_text(text: str) -> str | None:
    return text.strip() or None  # str.strip also removes non-breaking spaces


def _detect_delimiter(sample: str, expected_headers: Sequence[str]) -> str:
    by_count = _delimiter_by_count(sample)
    wanted = _wanted(expected_headers)
    if not wanted:
        return by_count
    scores: dict[str, int] = {}
    for delimiter in _DELIMITERS:
        records = _csv_records(sample, delimiter)
        scores[delimiter] = max(
            (_header_score(cells, wanted) for _, cells in itertools.islice(records, 30)),
            default=0,
        )
    best = max(scores.values())
    if best == 0 or scores[by_count] == best:
        return by_count
    return next(d for d in _DELIMITERS if scores[d] == best)


def _delimiter_by_count(sample: str) -> str:
    """The candidate occurring most often outside quotes in the first record that has any."""
    counts = dict.fromkeys(_DELIMITERS, 0)
    quoted = False
    has_text = False
    records = 0
    for char in itertools.chain(sample, "\n"):
        if char == '"':
            quoted = not quoted  # a doubled quote toggles twice, which leaves the state intact
            has_text = True
        elif quoted:
            continue
        elif char in "\r\n":
            if has_text:
                records += 1
                if any(counts.values()):
                    return max(_DELIMITERS, key=lambda d: counts[d])  # ties: earliest candidate
                if records >= _HEADER_SEARCH_ROWS:
                    break
            counts = dict.fromkeys(_DELIMITERS, 0)
            has_text = False
        elif char in counts:
            counts[char] += 1
        elif not char.isspace():
            has_text = True
    return ";"  # a single column: the delimiter is irrelevant, and ";" is Italian Excel's own


# --- header ----------------------------------------------------------------------------------


def _wanted(expected_headers: Iterable[str]) -> frozenset[str]:
    return frozenset(n for n in map(normalise_header, expected_headers) if n)


def _header_score(cells: Sequence[Cell], wanted: frozenset[str]) -> int:
    return len(wanted & {normalise_header(_header_text(cell)) for cell in cells})


def _header_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime.date):
        return cell.strftime("%d/%m/%Y")
    return str(cell)


def _locate_header(
    records: Iterator[_Record], expected_headers: Sequence[str]
) -> tuple[int, list[str], Iterator[_Record]]:
    wanted = _wanted(expected_headers)
    candidates = list(itertools.islice(records, _HEADER_SEARCH_ROWS if wanted else 1))
    if not candidates:
        raise ReadError(_("The file contains no data: every row is empty."))
    best = 0
    if wanted:
        scores = [_header_score(cells, wanted) for _, cells in candidates]
        best = scores.index(max(scores))  # no match at all: the first row, like without hints
    header_row, header_cells = candidates[best]
    headers = [_header_text(cell) for cell in header_cells]
    while headers and not headers[-1]:
        headers.pop()
    return header_row, headers, itertools.chain(candidates[best + 1 :], records)


def _fit(records: Iterable[_Record], width: int) -> Iterator[_Record]:
    """Pad short rows to the header's width; drop the empty tail beyond it (XLSX styling)."""
    for number, cells in records:
        if len(cells) < width:
            cells.extend([None] * (width - len(cells)))
        else:
            while len(cells) > width and cells[-1] is None:
                cells.pop()
        yield number, cells


# --- XLSX ------------------------------------------------------------------------------------


def _open_xlsx(
    data: bytes, filename: str, expected_headers: Sequence[str], sheet: str | None
) -> Table:
    extension = _extension(filename)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise (_ods_error() if extension == ".ods" else _damaged_xlsx_error()) from exc
    if "xl/workbook.xml" not in names:
        if b"opendocument.spreadsheet" in mimetype or extension == ".ods":
            raise _ods_error()
        if "xl/workbook.bin" in names:
            raise ReadError(
                _(
                    "Excel binary workbooks (.xlsb) are not supported: open the file in Excel and "
                    "save it as an Excel Workbook (.xlsx) or as CSV."
                )
            )
        if extension in {".xlsx", ".xlsm"}:
            raise _damaged_xlsx_error()
        raise _not_a_spreadsheet_error()

    try:
        with warnings.catch_warnings():
            # openpyxl warns about harmless quirks (missing default style, unknown extensions).
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        # A damaged package fails in many ways inside openpyxl; the user only needs to know which.
        raise _damaged_xlsx_error() from exc

    try:
        worksheet = _pick_sheet(workbook, sheet)
        declared_rows = _declared_rows(worksheet)
        header_row, headers, records = _locate_header(
            _xlsx_records(workbook, worksheet), expected_headers
        )
    except BaseException:
        workbook.close()
        raise
    file_format = FileFormat("xlsx", None, None, worksheet.title, header_row)
    # The sheet's declared size may count formatted empty rows: an estimate, not a count.
    estimate = max(declared_rows - header_row, 0)
    return Table(file_format, headers, _fit(records, len(headers)), estimate)


def _pick_sheet(workbook: Any, sheet: str | None) -> Any:
    worksheets = list(workbook.worksheets)
    if sheet is None:
        visible = [ws for ws in worksheets if ws.sheet_state == "visible"]
        if visible or worksheets:
            return (visible or worksheets)[0]
        raise ReadError(_("The Excel file contains no worksheet."))
    for ws in worksheets:
        if ws.title == sheet:
            return ws
    # Users retype sheet names; trailing spaces and case are invisible in Excel's tabs.
    for ws in worksheets:
        if normalise_header(ws.title) == normalise_header(sheet):
            return ws
    raise ReadError(
        _("The Excel file has no sheet named “%(sheet)s”; its sheets are: %(sheets)s.")
        % {"sheet": sheet, "sheets": ", ".join(f"“{ws.title}”" for ws in worksheets)}
    )


def _xlsx_records(workbook: Any, worksheet: Any) -> Iterator[_Record]:
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
        raise _damaged_xlsx_error() from exc
    finally:
        workbook.close()


def _xlsx_value(value: Any) -> Cell:
    if value is None or isinstance(value, int | Decimal | CellError):
        return value  # bool never gets here: the parser turns it into text first
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, datetime.date):
        return value
    # Rare leftovers: ISO time or duration cells (t="d"), rich text objects.
    return _clean_text(str(value))


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
        return _exact_number(number)


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


def _exact_number(number: Decimal) -> int | Decimal:
    if number.adjusted() > 100:
        return number  # absurdly large: not worth materialising as an int
    if number != number.to_integral_value() and len(number.as_tuple().digits) > 15:
        number = _EXCEL_PRECISION.plus(number).normalize()
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
