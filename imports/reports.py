"""What a job reports: its summary for the command line and API, and its rows for download."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.db.models import Count, QuerySet
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cases.models import Installment
from core.spreadsheets import typed_cell
from imports.models import ImportJob, ImportKind, ImportRow, JobStatus, RowOutcome

# Downloads are named the way the agency names the files it exchanges with creditors.
REPORT_NAMES: dict[str, str] = {
    ImportKind.UNPAID: "insoluti",
    ImportKind.ACQUISITION: "affido",
    ImportKind.PRE_INVOICE: "prefattura",
}
ROWS_CHUNK = 2000
# A text cell starting with one of these is run as a formula by spreadsheet programs, and text in
# a report comes from the creditor's file.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NOT_FOUND = (
    RowOutcome.CONTRACT_NOT_FOUND,
    RowOutcome.AMOUNT_MISMATCH,
    RowOutcome.DUE_DATE_MISMATCH,
    RowOutcome.PAYMENT_METHOD_MISMATCH,
    RowOutcome.INSTALLMENT_NOT_FOUND,
)


def job_summary(job: ImportJob) -> dict[str, Any]:
    """The job's outcome as one flat object: the counts, or the reason nothing was applied."""
    summary: dict[str, Any] = {"job": job.pk, "status": job.status, "dry_run": job.dry_run}
    summary.update(job.counts)
    if job.status != JobStatus.DONE:
        summary["error"] = job.error
    if job.started_at and job.finished_at and job.status == JobStatus.DONE:
        summary["seconds"] = round((job.finished_at - job.started_at).total_seconds(), 2)
    if job.duplicate_of_id:
        summary["already_applied_by"] = job.duplicate_of_id
    return summary


def euro(amount: Decimal | None) -> str:
    """Money the Italian way whatever the interface language: € 1.234,56."""
    if amount is None:
        return ""
    with override("it"):
        return "€ " + number_format(amount, 2, force_grouping=True)


def italian_date(value: datetime.date | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


def report_filename(job: ImportJob, extension: str) -> str:
    return f"{REPORT_NAMES.get(job.kind, 'import')}-job-{job.pk}.{extension}"


def report_rows(job: ImportJob) -> QuerySet[ImportRow]:
    """The job's rows in file order, with the installments they are shown beside."""
    return job.rows.select_related("installment", "closest").order_by("number")


def compared_installment(row: ImportRow) -> Installment | None:
    """The case's installment a row is shown beside: the one it matched, else the closest."""
    return row.installment if row.installment_id else row.closest


def differing_fields(row: ImportRow) -> set[str]:
    """The row's values that are not the same as the installment it is shown beside."""
    installment = compared_installment(row)
    if installment is None:
        return set()
    differs = {
        name
        for name in ("due_date", "amount", "payment_method")
        if getattr(row, name) != getattr(installment, name)
    }
    if row.installment_number is not None and row.installment_number != installment.number:
        differs.add("number")
    return differs


def row_reason(row: ImportRow) -> str:
    """Why the row ended as it did, in words an operator can check against the case."""
    closest = compared_installment(row)
    if row.outcome == RowOutcome.FOUND and closest is not None:
        return _("Installment %(number)s of the case") % {"number": closest.number}
    # A pre-invoice row says itself whether the contract is in another batch.
    if row.outcome == RowOutcome.CONTRACT_NOT_FOUND and not row.message:
        return _("No open case of this creditor has contract %(contract)s.") % {
            "contract": row.contract_number
        }
    if row.outcome == RowOutcome.INSTALLMENT_NOT_FOUND:
        if closest is None:
            return _("The case has no installments.")
        return _(
            "No installment has this due date, amount or payment method; the closest is "
            "installment %(number)s."
        ) % {"number": closest.number}
    if closest is not None and row.outcome in MISMATCH_REASONS:
        message, show = MISMATCH_REASONS[row.outcome]
        return str(message) % {"number": closest.number, "value": show(closest)}
    return row.message


MISMATCH_REASONS: dict[str, tuple[Promise, Callable[[Installment], str]]] = {
    RowOutcome.AMOUNT_MISMATCH: (
        gettext_lazy("Amount differs from installment %(number)s (%(value)s)"),
        lambda installment: euro(installment.amount),
    ),
    RowOutcome.DUE_DATE_MISMATCH: (
        gettext_lazy("Due date differs from installment %(number)s (%(value)s)"),
        lambda installment: italian_date(installment.due_date),
    ),
    RowOutcome.PAYMENT_METHOD_MISMATCH: (
        gettext_lazy("Payment method differs from installment %(number)s (%(value)s)"),
        lambda installment: installment.payment_method,
    ),
}


def outcome_counts(job: ImportJob) -> list[tuple[str, str, int]]:
    """(outcome, label, rows) for each outcome the job's rows have, in the outcomes' order."""
    counts = dict(job.rows.values_list("outcome").annotate(n=Count("id")).order_by())
    return [
        (value, str(label), counts[value]) for value, label in RowOutcome.choices if value in counts
    ]


@dataclass(frozen=True)
class SummaryCard:
    """One figure of a finished job; `outcome` names the rows it counts, to list them."""

    label: str
    value: str
    tone: str = "body"
    outcome: str = ""


def summary_cards(job: ImportJob) -> list[SummaryCard]:
    """The figures of a finished job, as the results page shows them."""
    counts = job.counts
    if job.kind == ImportKind.UNPAID:
        cards = [
            SummaryCard(_("Rows read"), str(counts.get("rows", 0))),
            SummaryCard(_("Installments found"), str(counts.get("found", 0)), "success", "found"),
            SummaryCard(
                _("Duplicates"), str(counts.get("duplicates", 0)), "secondary", "duplicate"
            ),
            SummaryCard(
                _("Protest fees of the installments found"),
                euro(Decimal(counts.get("fees_total", "0"))),
            ),
        ]
        not_found = counts.get("not_found", {})
        cards += [
            SummaryCard(
                str(outcome.label), str(not_found.get(outcome.value, 0)), "warning", outcome
            )
            for outcome in NOT_FOUND
        ]
    elif job.kind == ImportKind.PRE_INVOICE:
        cards = pre_invoice_cards(counts)
    else:
        cards = [
            SummaryCard(_("Rows read"), str(counts.get("rows", 0))),
            SummaryCard(
                _("Cases created"), str(counts.get("cases_created", 0)), "success", "created"
            ),
            SummaryCard(
                _("of which re-assigned"),
                str(counts.get("cases_reassigned", 0)),
                "info",
                "reassigned",
            ),
            SummaryCard(
                _("Already present"),
                str(counts.get("already_present", 0)),
                "secondary",
                "already_present",
            ),
            SummaryCard(_("Debtors created"), str(counts.get("debtors_created", 0))),
            SummaryCard(_("Installments created"), str(counts.get("installments_created", 0))),
            # Cases loaded although a check failed (a phone, an e-mail): the row says which.
            SummaryCard(_("Loaded with warnings"), str(counts.get("warnings", 0)), "warning"),
        ]
    cards.append(SummaryCard(_("Rows not valid"), str(counts.get("errors", 0)), "danger", "error"))
    return cards


def pre_invoice_cards(counts: dict[str, Any]) -> list[SummaryCard]:
    not_found = counts.get("not_found", {})
    return [
        SummaryCard(_("Rows read"), str(counts.get("rows", 0))),
        SummaryCard(_("Payments matched"), str(counts.get("matched", 0)), "success", "matched"),
        SummaryCard(
            _("Already commissioned"),
            str(counts.get("already_commissioned", 0)),
            "secondary",
            "already_commissioned",
        ),
        SummaryCard(_("Collected"), euro(Decimal(counts.get("collected_total", "0")))),
        SummaryCard(_("Commission"), euro(Decimal(counts.get("commission_total", "0")))),
        SummaryCard(
            _("Matched without commission terms"), str(counts.get("without_terms", 0)), "warning"
        ),
        *(
            SummaryCard(
                str(outcome.label), str(not_found.get(outcome.value, 0)), "warning", outcome
            )
            for outcome in (RowOutcome.CONTRACT_NOT_FOUND, RowOutcome.AMOUNT_NOT_MATCHED)
        ),
    ]


# Downloads: one column list per kind of job, each cell typed so both formats can render it.


@dataclass(frozen=True)
class ReportColumn:
    header: Promise
    value: Callable[[ImportRow], Any]
    kind: str = "text"  # text, number, date or money


def _installment_value(name: str) -> Callable[[ImportRow], Any]:
    def value(row: ImportRow) -> Any:
        installment = compared_installment(row)
        return None if installment is None else getattr(installment, name)

    return value


ROW = ReportColumn(gettext_lazy("Row"), lambda row: row.number, "number")
CONTRACT = ReportColumn(gettext_lazy("Contract"), lambda row: row.contract_number)
OUTCOME = ReportColumn(gettext_lazy("Outcome"), lambda row: row.get_outcome_display())
REASON = ReportColumn(gettext_lazy("Reason"), row_reason)
REPORT_COLUMNS: dict[str, list[ReportColumn]] = {
    ImportKind.UNPAID: [
        ROW,
        CONTRACT,
        ReportColumn(gettext_lazy("Installment"), lambda row: row.installment_number, "number"),
        ReportColumn(gettext_lazy("Due date"), lambda row: row.due_date, "date"),
        ReportColumn(gettext_lazy("Amount"), lambda row: row.amount, "money"),
        ReportColumn(gettext_lazy("Method"), lambda row: row.payment_method),
        ReportColumn(gettext_lazy("Fees"), lambda row: row.fees, "money"),
        OUTCOME,
        REASON,
        ReportColumn(gettext_lazy("Closest installment"), _installment_value("number"), "number"),
        ReportColumn(
            gettext_lazy("Closest installment due date"), _installment_value("due_date"), "date"
        ),
        ReportColumn(
            gettext_lazy("Closest installment amount"), _installment_value("amount"), "money"
        ),
        ReportColumn(
            gettext_lazy("Closest installment method"), _installment_value("payment_method")
        ),
    ],
    ImportKind.ACQUISITION: [ROW, CONTRACT, OUTCOME, REASON],
    ImportKind.PRE_INVOICE: [
        ROW,
        ReportColumn(gettext_lazy("Batch"), lambda row: row.batch_code),
        CONTRACT,
        ReportColumn(gettext_lazy("Name"), lambda row: row.debtor_name),
        ReportColumn(gettext_lazy("Paid on"), lambda row: row.paid_on, "date"),
        ReportColumn(gettext_lazy("Amount"), lambda row: row.amount, "money"),
        OUTCOME,
        REASON,
        ReportColumn(gettext_lazy("Commission"), lambda row: row.commission, "money"),
        ReportColumn(gettext_lazy("Closest installment"), _installment_value("number"), "number"),
        ReportColumn(
            gettext_lazy("Closest installment due date"), _installment_value("due_date"), "date"
        ),
        ReportColumn(
            gettext_lazy("Closest installment amount"), _installment_value("amount"), "money"
        ),
    ],
}


def _streamed_rows(job: ImportJob) -> Iterator[ImportRow]:
    return report_rows(job).iterator(chunk_size=ROWS_CHUNK)


def _safe_text(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_rows_xlsx(job: ImportJob, stream: IO[bytes]) -> None:
    """Every row of the job as a worksheet with real dates and numbers, written as it streams."""
    workbook = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = workbook.create_sheet(_("Rows"))
    columns = REPORT_COLUMNS[job.kind]
    for index, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(index)].width = 60 if column is REASON else 14
    bold = Font(bold=True)
    sheet.append([typed_cell(sheet, str(column.header), "text", bold) for column in columns])
    for row in _streamed_rows(job):
        sheet.append([typed_cell(sheet, column.value(row), column.kind) for column in columns])
    workbook.save(stream)


def write_rows_csv(job: ImportJob, stream: IO[bytes]) -> None:
    """Every row of the job as the CSV Italian Excel opens as it is: UTF-8 with BOM, `;`,
    decimal commas, dd/mm/yyyy dates, CRLF line ends."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, delimiter=";", lineterminator="\r\n")
    columns = REPORT_COLUMNS[job.kind]
    writer.writerow([str(column.header) for column in columns])
    for row in _streamed_rows(job):
        writer.writerow([_csv_value(column.value(row), column.kind) for column in columns])
    text.flush()
    # The caller owns the stream: leave it open after the wrapper goes away.
    text.detach()


def _csv_value(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "money":
        return f"{value:.2f}".replace(".", ",")
    if kind == "date":
        return italian_date(value)
    if kind == "number":
        return str(value)
    return _safe_text(value)
