"""Typed cells for the XLSX downloads, so that Excel shows numbers, dates and text as such."""

from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

MONEY_FORMAT = "#,##0.00"
DATE_FORMAT = "DD/MM/YYYY"


def typed_cell(
    sheet: WriteOnlyWorksheet, value: Any, kind: str, font: Font | None = None
) -> WriteOnlyCell:
    """A cell of kind "text", "money", "date" or anything else (a plain value)."""
    cell = WriteOnlyCell(sheet, value=None if value == "" else value)
    if kind == "text" and cell.value is not None:
        # Names and references come from the creditor's files: text starting with "=" must stay
        # text, never become a formula the spreadsheet runs.
        cell.value = str(value)
        cell.data_type = "s"
    elif kind == "money":
        cell.number_format = MONEY_FORMAT
    elif kind == "date":
        cell.number_format = DATE_FORMAT
    if font is not None:
        cell.font = font
    return cell
