"""A creditor's totals line ("Totale", an amount, no contract) at the foot of a file or of a
section: recognised and left out of the rows, and its amount compared with the sum of the rows.

Creditors' spreadsheets often end with such a line. Read as a row it would be an error ("the
contract is missing"), and the count of rows would be off by one; its amount is also the
creditor's own check of the file, which the report states beside the agency's sum.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.templatetags.money import euro
from imports.mapping import RowParser
from imports.models import ImportJob, ImportKind
from imports.parsers import parse_amount
from imports.readers import Cell

# "Totale", "TOTALI", "Total" as a word at the start of a cell, "Tot." with its dot, "TOT" alone:
# not "Totaro", "Totalizzatore", nor contract numbers such as "TOT0020931", "TOT-0020931" or
# "TOT 0020931".
TOTALS_WORD = re.compile(
    r"\s*(?:tot(?:ale|ali|al)(?=[\s:]|$)|tot\.(?=\s|$)|tot(?=\s*:|\s*$))", re.IGNORECASE
)
# Kinds whose rows keep the amount the file states for them, so the sum can be checked.
SUMMED_KINDS = (ImportKind.UNPAID, ImportKind.PRE_INVOICE)
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class TotalsLine:
    number: int
    amount: Decimal | None


def is_totals_line(parser: RowParser, cells: Sequence[Cell]) -> bool:
    """A row without a contract with the word total in a column the layout reads, or with the
    word in the contract's column. The word in a column the layout does not read (a creditor's
    first column, say) counts only on a row whose read columns hold nothing but amounts.
    Without a contract column in the layout no row is taken for one."""
    binding = parser.bindings.get("contract_number")
    if binding is None:
        return False
    contract = _cell(cells, binding.index)
    if _is_label(contract):
        return True
    if not _blank(contract):
        return False
    read = {b.index for b in parser.bindings.values()}
    if any(_is_label(_cell(cells, index)) for index in read):
        return True
    others = (b for b in parser.bindings.values() if b.spec.parse is not parse_amount)
    return all(_blank(_cell(cells, b.index)) for b in others) and any(
        _is_label(cell) for index, cell in enumerate(cells) if index not in read
    )


def _cell(cells: Sequence[Cell], index: int) -> Cell:
    return cells[index] if index < len(cells) else None


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _is_label(cell: Cell) -> bool:
    return isinstance(cell, str) and TOTALS_WORD.match(cell) is not None


def stated_amount(parser: RowParser, cells: Sequence[Cell]) -> Decimal | None:
    if not parser.has("amount"):
        return None
    values, errors = parser.parse(cells, ["amount"])
    amount = values.get("amount")
    return amount if not errors and isinstance(amount, Decimal) else None


def without_totals_lines(
    rows: Iterator[tuple[int, list[Cell]]], parser: RowParser, found: list[TotalsLine]
) -> Iterator[tuple[int, list[Cell]]]:
    """The rows of a file, less its totals lines, which are appended to `found`."""
    for number, cells in rows:
        if is_totals_line(parser, cells):
            found.append(TotalsLine(number, stated_amount(parser, cells)))
            continue
        yield number, cells


def totals_counts(job: ImportJob, found: list[TotalsLine]) -> dict[str, Any]:
    """What the job's counts say of the file's totals lines: their row numbers and, where the
    rows keep their amounts, the last line's amount (the grand total) beside the rows' sum."""
    last = found[-1]
    counts: dict[str, Any] = {
        "rows": [line.number for line in found],
        "stated": None if last.amount is None else str(last.amount.quantize(CENTS)),
    }
    if last.amount is not None and job.kind in SUMMED_KINDS:
        summed = job.rows.aggregate(
            total=Sum("amount"), without=Count("id", filter=Q(amount__isnull=True))
        )
        total = Decimal(summed["total"] or 0).quantize(CENTS)
        counts.update(
            rows_sum=str(total),
            agrees=total == last.amount.quantize(CENTS),
            rows_without_amount=summed["without"],
        )
    return counts


def totals_message(counts: dict[str, Any]) -> str:
    """The totals line as the job page states it; empty when the file had none."""
    totals = counts.get("totals_line")
    if not totals:
        return ""
    rows = ", ".join(str(n) for n in totals["rows"])
    text = ngettext(
        "Row %(rows)s is the file's totals line: it was not read as a payment or case.",
        "Rows %(rows)s are totals lines of the file: they were not read as payments or cases.",
        len(totals["rows"]),
    ) % {"rows": rows}
    if "rows_sum" not in totals:
        if totals.get("stated"):
            text += " " + _("It states %(stated)s.") % {"stated": euro(totals["stated"])}
        return text
    if totals["agrees"]:
        text += " " + _("It states %(stated)s, the sum of the rows.") % {
            "stated": euro(totals["stated"])
        }
    else:
        difference = Decimal(totals["stated"]) - Decimal(totals["rows_sum"])
        text += " " + _(
            "It states %(stated)s but the rows add up to %(sum)s: a difference of %(difference)s."
        ) % {
            "stated": euro(totals["stated"]),
            "sum": euro(totals["rows_sum"]),
            "difference": euro(difference),
        }
    if totals["rows_without_amount"]:
        text += " " + ngettext(
            "%(count)s row without a valid amount is not in the sum.",
            "%(count)s rows without a valid amount are not in the sum.",
            totals["rows_without_amount"],
        ) % {"count": totals["rows_without_amount"]}
    return text
