"""The pre-invoice as a document: its lines, its totals, and the same as XLSX and PDF.

The page, the XLSX, the PDF and the FatturaPA all take their figures from `pre_invoice_totals`,
so they cannot disagree. VAT is computed once, on the commission total, and rounded half-up to
the cent, as an invoice with one taxable line does; it is never the sum of per-line VAT.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any
from xml.sax.saxutils import escape

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.utils.formats import date_format, number_format
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import PreInvoice
from cases.models import ZERO, CaseParty, PartyRole, Payment
from core.spreadsheets import typed_cell
from core.templatetags.money import euro

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
ROWS_CHUNK = 2000


@dataclass(frozen=True)
class PreInvoiceTotals:
    lines: int
    collected: Decimal
    commission: Decimal
    vat_rate: Decimal
    vat: Decimal
    total: Decimal


def vat_on(amount: Decimal, rate: Decimal) -> Decimal:
    """VAT at `rate` percent on `amount`, half-up to the cent."""
    return (amount * rate / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def pre_invoice_totals(pre_invoice: PreInvoice) -> PreInvoiceTotals:
    """Collected and commission totals summed in the database, then VAT and the grand total."""
    sums = Payment.objects.filter(pre_invoice=pre_invoice).aggregate(
        lines=Count("pk"), collected=Sum("amount"), commission=Sum("commission")
    )
    commission = (sums["commission"] or ZERO).quantize(CENT)
    vat = vat_on(commission, pre_invoice.vat_rate)
    return PreInvoiceTotals(
        lines=sums["lines"],
        collected=(sums["collected"] or ZERO).quantize(CENT),
        commission=commission,
        vat_rate=pre_invoice.vat_rate,
        vat=vat,
        total=commission + vat,
    )


def pre_invoice_lines(pre_invoice: PreInvoice) -> QuerySet[Payment]:
    """The pre-invoice's payments with the contract and main debtor of each: one query."""
    main = CaseParty.objects.filter(case=OuterRef("case_id"), role=PartyRole.MAIN).order_by("pk")
    return (
        Payment.objects.filter(pre_invoice=pre_invoice)
        .select_related("case")
        .annotate(debtor_name=Subquery(main.values("debtor__name")[:1]))
        .order_by("paid_on", "case__contract_number", "pk")
    )


@dataclass(frozen=True)
class LineColumn:
    header: Any
    kind: str  # text, date, money or number
    width: int


LINE_COLUMNS = (
    LineColumn(gettext_lazy("Contract"), "text", 18),
    LineColumn(gettext_lazy("Debtor"), "text", 30),
    LineColumn(gettext_lazy("Paid on"), "date", 12),
    LineColumn(gettext_lazy("Amount"), "money", 14),
    LineColumn(gettext_lazy("Rate (%)"), "number", 13),
    LineColumn(gettext_lazy("Commission"), "money", 14),
)
AMOUNT_COLUMN = 3


def line_values(payment: Any) -> list[Any]:
    return [
        payment.case.contract_number,
        payment.debtor_name or "",
        payment.paid_on,
        payment.amount,
        payment.commission_rate,
        payment.commission,
    ]


def _lines(pre_invoice: PreInvoice) -> Iterator[Payment]:
    return pre_invoice_lines(pre_invoice).iterator(chunk_size=ROWS_CHUNK)


def totals_rows(totals: PreInvoiceTotals) -> list[tuple[str, Decimal]]:
    """The labelled totals under the lines, in the order every format shows them."""
    return [
        (_("Collected total"), totals.collected),
        (_("Commission total"), totals.commission),
        (_("VAT %(rate)s%%") % {"rate": number_format(totals.vat_rate, 2)}, totals.vat),
        (_("Total with VAT"), totals.total),
    ]


def document_title(pre_invoice: PreInvoice) -> str:
    return _("Pre-invoice %(number)s — %(creditor)s, %(start)s to %(end)s") % {
        "number": pre_invoice.number or _("draft"),
        "creditor": pre_invoice.creditor.name,
        "start": date_format(pre_invoice.period_start, "SHORT_DATE_FORMAT"),
        "end": date_format(pre_invoice.period_end, "SHORT_DATE_FORMAT"),
    }


def document_filename(pre_invoice: PreInvoice, extension: str) -> str:
    # Named the Italian way, like the files the agency exchanges with creditors.
    name = pre_invoice.number or f"bozza-{pre_invoice.pk}"
    return get_valid_filename(f"prefattura-{pre_invoice.creditor.code}-{name}.{extension}")


def write_xlsx(pre_invoice: PreInvoice, stream: IO[bytes]) -> None:
    """Lines as typed cells (numbers, dates), then the totals in the amount column."""
    workbook = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = workbook.create_sheet(_("Pre-invoice"))
    for index, column in enumerate(LINE_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width

    bold = Font(bold=True)
    sheet.append([typed_cell(sheet, document_title(pre_invoice), "text", bold)])
    sheet.append([])
    sheet.append([typed_cell(sheet, str(c.header), "text", bold) for c in LINE_COLUMNS])
    for payment in _lines(pre_invoice):
        values = line_values(payment)
        sheet.append(
            [typed_cell(sheet, v, c.kind) for v, c in zip(values, LINE_COLUMNS, strict=True)]
        )

    sheet.append([])
    # The collected total under the amounts, the commission and what follows from it under the
    # commissions: each sum in the column it adds up.
    for index, (label, amount) in enumerate(totals_rows(pre_invoice_totals(pre_invoice))):
        position = AMOUNT_COLUMN if index == 0 else len(LINE_COLUMNS) - 1
        row: list[Any] = [typed_cell(sheet, label, "text", bold)]
        row += [None] * (position - 1) + [typed_cell(sheet, amount, "money", bold)]
        sheet.append(row)
    workbook.save(stream)


def _pdf_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return euro(value)
    if kind == "date":
        return date_format(value, "SHORT_DATE_FORMAT")
    if kind == "number":
        return number_format(value, 2)
    return str(value)


def write_pdf(pre_invoice: PreInvoice) -> bytes:
    """An A4 landscape table of the lines with the totals below, as the page shows them."""
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=document_title(pre_invoice),
    )
    styles = getSampleStyleSheet()
    rows: list[list[str]] = [[str(c.header) for c in LINE_COLUMNS]]
    for payment in _lines(pre_invoice):
        values = line_values(payment)
        rows.append([_pdf_cell(v, c.kind) for v, c in zip(values, LINE_COLUMNS, strict=True)])
    # The columns share the page's width in their proportions, so the totals below, set at the
    # right margin, line up with the amount columns.
    # SimpleDocTemplate's frame pads each side with 6 points.
    unit = (document.width - 12) / sum(c.width for c in LINE_COLUMNS)
    lines = Table(rows, colWidths=[c.width * unit for c in LINE_COLUMNS], repeatRows=1)
    lines.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
            ]
        )
    )
    totals = Table(
        [[label, euro(amount)] for label, amount in totals_rows(pre_invoice_totals(pre_invoice))],
        colWidths=[60 * mm, 35 * mm],
        hAlign="RIGHT",
    )
    totals.setStyle(
        TableStyle(
            [
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
            ]
        )
    )
    # Paragraph reads markup: a creditor called "A & B" must stay text.
    title = Paragraph(escape(document_title(pre_invoice)), styles["Heading2"])
    story = [title, lines, Spacer(1, 6 * mm), totals]
    document.build(story)
    return buffer.getvalue()
