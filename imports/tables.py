"""Tables of the import pages: the jobs, and a finished job's rows with their outcome."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from imports.models import ImportJob, ImportRow, JobStatus, RowOutcome
from imports.reports import compared_installment, differing_fields, euro, italian_date, row_reason

STATUS_TONES = {
    JobStatus.QUEUED: "secondary",
    JobStatus.READING: "info",
    JobStatus.APPLYING: "info",
    JobStatus.DONE: "success",
    JobStatus.FAILED: "danger",
    JobStatus.ALREADY_APPLIED: "warning",
    JobStatus.UNDONE: "dark",
}
OUTCOME_TONES = {
    RowOutcome.CREATED: "success",
    RowOutcome.REASSIGNED: "info",
    RowOutcome.FOUND: "success",
    RowOutcome.DUPLICATE: "secondary",
    RowOutcome.ALREADY_PRESENT: "secondary",
    RowOutcome.CONTRACT_NOT_FOUND: "danger",
    RowOutcome.AMOUNT_MISMATCH: "warning",
    RowOutcome.DUE_DATE_MISMATCH: "warning",
    RowOutcome.PAYMENT_METHOD_MISMATCH: "warning",
    RowOutcome.INSTALLMENT_NOT_FOUND: "warning",
    RowOutcome.MATCHED: "success",
    RowOutcome.ALREADY_COMMISSIONED: "secondary",
    RowOutcome.AMOUNT_NOT_MATCHED: "warning",
    RowOutcome.ERROR: "danger",
}
MISSING = "—"


def status_badge(job: ImportJob) -> SafeString:
    return format_html(
        '<span class="badge text-bg-{}">{}</span>',
        STATUS_TONES.get(JobStatus(job.status), "secondary"),
        job.get_status_display(),
    )


def differs_when(name: str, css: str = "") -> Callable[..., str | None]:
    """A cell class that highlights the value when it is not the same on both sides."""

    def css_class(record: ImportRow) -> str | None:
        # Bootstrap paints table cells through --bs-table-bg, which its contextual class sets.
        classes = f"{css} differs table-warning" if name in differing_fields(record) else css
        return classes.strip() or None

    return css_class


def case_link(row: ImportRow) -> SafeString:
    if row.case_id is None:
        return format_html("{}", row.contract_number)
    return format_html(
        '<a href="{}">{}</a>',
        reverse("cases:detail", kwargs={"pk": row.case_id}),
        row.contract_number,
    )


def outcome_badge(row: ImportRow) -> SafeString:
    return format_html(
        '<span class="badge text-bg-{}">{}</span><div class="small">{}</div>',
        OUTCOME_TONES.get(RowOutcome(row.outcome), "secondary") if row.outcome else "secondary",
        row.get_outcome_display(),
        row_reason(row),
    )


class ImportJobTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name=_("Uploaded at"), format="d/m/Y H:i")
    creditor = tables.Column(verbose_name=_("Creditor"), accessor="creditor__code")
    kind = tables.Column(verbose_name=_("Kind"))
    original_name = tables.Column(
        verbose_name=_("File"), linkify=("imports:job", {"pk": tables.A("pk")})
    )
    status = tables.Column(verbose_name=_("Status"))
    rows = tables.Column(
        verbose_name=_("Rows"), accessor="rows_done", attrs={"td": {"class": "text-end"}}
    )
    created_by = tables.Column(verbose_name=_("Uploaded by"), accessor="created_by__username")
    open = tables.LinkColumn(
        "imports:job",
        args=[tables.A("pk")],
        text=pgettext_lazy("link", "Open"),
        verbose_name="",
        orderable=False,
    )

    class Meta:
        model = ImportJob
        fields: list[str] = []
        orderable = False
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("No files uploaded yet.")

    def render_status(self, record: ImportJob) -> SafeString:
        if record.dry_run:
            return format_html(
                '{} <span class="badge text-bg-light border">{}</span>',
                status_badge(record),
                _("preview"),
            )
        return status_badge(record)

    def render_rows(self, record: ImportJob) -> int:
        return int(record.counts.get("rows", record.rows_done))


class InstallmentColumn(tables.Column):
    """A value of the installment a row is shown beside, highlighted when it differs."""

    def __init__(
        self, field: str, verbose_name: Any, render: Callable[[Any], Any], **kw: Any
    ) -> None:
        css = differs_when(field, "money" if field == "amount" else "")
        super().__init__(
            verbose_name=verbose_name,
            empty_values=(),
            orderable=False,
            attrs={"td": {"class": css}},
            **kw,
        )
        self.field = field
        self.show = render

    def render(self, record: ImportRow) -> Any:
        installment = compared_installment(record)
        if installment is None:
            return MISSING
        return self.show(getattr(installment, self.field))


def _date(value: datetime.date | None) -> str:
    return italian_date(value) or MISSING


def _money(value: Decimal | None) -> str:
    return euro(value) or MISSING


def _plain(value: Any) -> Any:
    return MISSING if value in (None, "") else value


class MoneyColumn(tables.Column):
    """An amount in euro, Italian style, right-aligned."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("attrs", {"td": {"class": "money"}})
        super().__init__(*args, **kwargs)

    def render(self, value: Decimal) -> str:
        return euro(value)


class DateColumn(tables.Column):
    """A date as dd/mm/yyyy."""

    def render(self, value: datetime.date) -> str:
        return italian_date(value)


class ImportRowTable(tables.Table):
    """What every kind of file's rows show: the row, its contract linked to the case, and the
    outcome; each kind adds its own columns between them."""

    number = tables.Column(verbose_name=_("Row"))
    contract_number = tables.Column(verbose_name=_("Contract"), empty_values=())
    outcome = tables.Column(verbose_name=_("Outcome"), empty_values=())

    class Meta:
        orderable = False
        attrs = {"class": "table table-sm align-middle import-rows"}
        empty_text = _("No rows with this outcome.")

    def render_contract_number(self, record: ImportRow) -> SafeString:
        return case_link(record)

    def render_outcome(self, record: ImportRow) -> SafeString:
        return outcome_badge(record)


class UnpaidRowTable(ImportRowTable):
    """An unpaid-installments file's rows beside the case installment each was compared with."""

    installment_number = tables.Column(
        verbose_name=_("Inst."), attrs={"td": {"class": differs_when("number")}}
    )
    due_date = DateColumn(
        verbose_name=_("Due date"), attrs={"td": {"class": differs_when("due_date")}}
    )
    amount = MoneyColumn(
        verbose_name=_("Amount"), attrs={"td": {"class": differs_when("amount", "money")}}
    )
    payment_method = tables.Column(
        verbose_name=_("Method"), attrs={"td": {"class": differs_when("payment_method")}}
    )
    fees = MoneyColumn(verbose_name=_("Fees"))
    closest_number = InstallmentColumn("number", _("Inst."), _plain)
    closest_due_date = InstallmentColumn("due_date", _("Due date"), _date)
    closest_amount = InstallmentColumn("amount", _("Amount"), _money)
    closest_payment_method = InstallmentColumn("payment_method", _("Method"), _plain)

    # The template draws a header above each group: the file's row, then the case's installment.
    column_groups = ((_("In the file"), 8), (_("Installment of the case"), 4))

    class Meta(ImportRowTable.Meta):
        template_name = "imports/_rows_table.html"
        sequence = (
            "number",
            "contract_number",
            "installment_number",
            "due_date",
            "amount",
            "payment_method",
            "fees",
            "outcome",
            "...",
        )


class PreInvoiceRowTable(ImportRowTable):
    """A pre-invoice file's rows: the payment each matched and its commission, or why not."""

    batch_code = tables.Column(verbose_name=_("Batch"))
    paid_on = DateColumn(verbose_name=_("Paid on"))
    amount = MoneyColumn(verbose_name=_("Amount"))
    commission = MoneyColumn(verbose_name=_("Commission"))

    class Meta(ImportRowTable.Meta):
        sequence = ("number", "batch_code", "contract_number", "...", "outcome")


class AcquisitionRowTable(ImportRowTable):
    """A portfolio file's rows: the case each created, or why it created none."""
