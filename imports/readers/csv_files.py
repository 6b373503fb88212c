"""CSV files in every dialect Italian offices produce: cells stay text."""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterator, Sequence

from django.utils.translation import gettext as _

from imports.readers.base import (
    HEADER_SEARCH_ROWS,
    Cell,
    FileFormat,
    ReadError,
    Record,
    Table,
    fit_width,
    header_score,
    locate_header,
    wanted_headers,
)

_DELIMITERS = (";", ",", "\t", "|")
# Enough text to see the first records whatever their width, without scanning a huge file.
_SNIFF_CHARS = 65_536
_SEP_LINE = re.compile(r'"?sep=(.)"?(?:\1)*[ ]*(?:\r\n|\r|\n|$)', re.IGNORECASE)
_MARKUP_START = re.compile(r"\s*<(?:\?xml|!doctype|html|table)\b", re.IGNORECASE)
_BLANK_TEXT = re.compile(r"\s*")
# A letter written in UTF-8 (two to four bytes); Windows-1252 text almost never holds one.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")


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


def open_csv(data: bytes, expected_headers: Sequence[str]) -> Table:
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
    header_row, headers, records = locate_header(_csv_records(text, delimiter), expected_headers)
    if not text.endswith(("\n", "\r")):
        records = _refuse_cut_last_record(records, len(headers))
    file_format = FileFormat("csv", encoding, delimiter, None, header_row)
    estimate = max(text.count("\n") or text.count("\r"), 1) - header_row
    return Table(file_format, headers, fit_width(records, len(headers)), max(estimate, 0))


def _refuse_cut_last_record(records: Iterator[Record], width: int) -> Iterator[Record]:
    """Hold each record back until the next one shows it was not the file's last.

    A last line that is both unterminated and short of columns is the sign of an upload or a
    copy cut off midway; padding it with empty cells would import half a row as if complete.
    """
    previous: Record | None = None
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


def _csv_records(text: str, delimiter: str) -> Iterator[Record]:
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


def _detect_delimiter(sample: str, expected_headers: Sequence[str]) -> str:
    by_count = _delimiter_by_count(sample)
    wanted = wanted_headers(expected_headers)
    if not wanted:
        return by_count
    scores: dict[str, int] = {}
    for delimiter in _DELIMITERS:
        records = _csv_records(sample, delimiter)
        scores[delimiter] = max(
            (header_score(cells, wanted) for _, cells in itertools.islice(records, 30)),
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
                if records >= HEADER_SEARCH_ROWS:
                    break
            counts = dict.fromkeys(_DELIMITERS, 0)
            has_text = False
        elif char in counts:
            counts[char] += 1
        elif not char.isspace():
            has_text = True
    return ";"  # a single column: the delimiter is irrelevant, and ";" is Italian Excel's own
