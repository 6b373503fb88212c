"""What a batch reports: its figures (cases, amount assigned, collected, recovery rate) and, once
its mandate has ended, the end-of-mandate report the agency sends back to the creditor.

Everything here is read in one query per page or per report, whatever the number of batches or
cases: the figures are subqueries on the batch, the report's columns annotations on the case.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, TYPE_CHECKING, Any

from django.db.models import Case as SqlCase
from django.db.models import (
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cases.models import (
    COLLECTED_STATES,
    ZERO,
    Case,
    CaseQuerySet,
    Installment,
    InstallmentStatus,
    MoneyField,
    Note,
    Payment,
    PaymentState,
)
from cases.queries import with_main_debtor
from core.spreadsheets import typed_cell
from creditors.models import Batch, BatchState, Creditor

if TYPE_CHECKING:
    from accounts.models import User

ROWS_CHUNK = 2000
NO_RATE = "—"
HUNDRED = Decimal(100)
ONE_DECIMAL = Decimal("0.1")


# Figures of a batch.


def assigned_amount() -> SqlCase:
    """What the creditor assigned on a case: its own total, or the sum of the parts without one.

    Imports always store a total (the parts' sum when the file gives none), so a zero total with
    parts is a case entered by hand, whose parts are all there is to count.
    """
    parts = F("principal") + F("interest") + F("charges")
    return SqlCase(
        When(assigned_total=ZERO, then=parts),
        default=F("assigned_total"),
        output_field=MoneyField(),
    )


def _money(subquery: QuerySet[Any]) -> Coalesce:
    money = MoneyField()
    return Coalesce(Subquery(subquery, output_field=money), Value(ZERO), output_field=money)


def with_figures(batches: QuerySet[Batch]) -> QuerySet[Batch]:
    """Annotate each batch's cases, amount assigned and amount collected, without a join that
    would multiply rows: each figure is a subquery grouped on the batch."""
    cases = Case.objects.filter(batch=OuterRef("pk")).order_by().values("batch")
    payments = (
        Payment.objects.filter(case__batch=OuterRef("pk"), state__in=COLLECTED_STATES)
        .order_by()
        .values("case__batch")
    )
    return batches.annotate(
        case_count=Coalesce(
            Subquery(cases.annotate(n=Count("pk")).values("n"), output_field=IntegerField()),
            Value(0),
        ),
        assigned=_money(cases.annotate(total=Sum(assigned_amount())).values("total")),
        collected=_money(payments.annotate(total=Sum("amount")).values("total")),
    )


def recovery_rate_sort_key() -> ExpressionWrapper:
    """Collected over assigned, NULL when nothing was assigned: a sort key only.

    In floating point because SQLite stores whole amounts as integers and would divide them as
    integers; the rate shown is computed exactly, in Decimal, by `recovery_rate`.
    """
    collected = Cast("collected", FloatField())
    assigned = NullIf(Cast("assigned", FloatField()), Value(0.0))
    return ExpressionWrapper(collected / assigned, output_field=FloatField())


def visible_batches(user: User) -> QuerySet[Batch]:
    """The batches of the creditors the user may see."""
    visible = Batch.objects.filter(creditor__in=Creditor.objects.visible_to(user))
    return visible.select_related("creditor")


def batches_for_list(user: User) -> QuerySet[Batch]:
    """The batches of the creditors the user may see, with their figures, in one query."""
    return with_figures(visible_batches(user))


def recovery_rate(collected: Decimal, assigned: Decimal) -> Decimal | None:
    """Collected over assigned, in percent with one decimal; None when nothing was assigned."""
    if not assigned:
        return None
    return (collected * HUNDRED / assigned).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def format_rate(rate: Decimal | None) -> str:
    """A rate in the active language (12,5% in Italian), or a dash when there is none."""
    if rate is None:
        return NO_RATE
    return f"{number_format(rate, 1)}%"


def cases_by_state(batch: Batch) -> dict[str, int]:
    """How many of the batch's cases are in each state."""
    counts = (
        Case.objects.filter(batch=batch).order_by().values_list("state").annotate(n=Count("pk"))
    )
    return dict(counts)


# End-of-mandate report.


def report_available(batch: Batch) -> bool:
    """The report describes a mandate that is over: the batch was returned or closed."""
    return batch.state in (BatchState.RETURNED, BatchState.CLOSED)


def report_filename(batch: Batch) -> str:
    # Named the Italian way, like the files the agency exchanges with creditors.
    return get_valid_filename(f"fine-mandato-{batch.creditor.code}-{batch.code}.xlsx")


def _case_payments(states: Sequence[str]) -> QuerySet[Any]:
    """The sum of the case's payments in these states, as a subquery on the outer case."""
    return (
        Payment.objects.filter(case=OuterRef("pk"), state__in=states)
        .order_by()
        .values("case")
        .annotate(total=Sum("amount"))
        .values("total")
    )


def report_cases(batch: Batch) -> CaseQuerySet:
    """The batch's cases with every column of the report annotated: no query per row."""
    unpaid = (
        Installment.objects.filter(case=OuterRef("pk"), status=InstallmentStatus.UNPAID)
        .order_by()
        .values("case")
        .annotate(n=Count("pk"))
        .values("n")
    )
    last_note = (
        Note.objects.filter(case=OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(last=Max("created_at"))
        .values("last")
    )
    cases = Case.objects.filter(batch=batch).with_total_requested()
    return (
        with_main_debtor(cases)
        .annotate(
            assigned=assigned_amount(),
            collected=_money(_case_payments(COLLECTED_STATES)),
            reported=_money(_case_payments([PaymentState.REPORTED])),
            unpaid_count=Coalesce(Subquery(unpaid, output_field=IntegerField()), Value(0)),
            last_note_at=Subquery(last_note),
        )
        .order_by("contract_number", "pk")
    )


@dataclass(frozen=True)
class ReportColumn:
    header: Any
    kind: str = "text"  # text, number, date or money
    width: int = 16


# TODO: an outcome column (the last activity's outcome) once activities are recorded; until then
# the case's state is all the report tells the creditor about how each case ended.
REPORT_COLUMNS = (
    ReportColumn(gettext_lazy("Contract"), width=18),
    ReportColumn(gettext_lazy("Creditor reference"), width=18),
    ReportColumn(gettext_lazy("Debtor"), width=30),
    ReportColumn(gettext_lazy("Tax code"), width=20),
    ReportColumn(gettext_lazy("State")),
    ReportColumn(gettext_lazy("Amount assigned"), "money"),
    ReportColumn(gettext_lazy("Total requested"), "money"),
    ReportColumn(gettext_lazy("Collected"), "money"),
    # Payments the debtor reported that the agency has not seen yet: in neither figure above
    # as money received, already subtracted from the total requested.
    ReportColumn(gettext_lazy("Reported, not yet collected"), "money"),
    ReportColumn(gettext_lazy("Unpaid installments"), "number"),
    ReportColumn(gettext_lazy("Last note"), "date", 12),
)


@dataclass
class ReportTotals:
    """The sums under the report's columns, added up as the rows stream past."""

    cases: int = 0
    money: list[Decimal] = field(default_factory=lambda: [ZERO, ZERO, ZERO, ZERO])
    unpaid: int = 0

    def add(self, case: Any) -> None:
        self.cases += 1
        amounts = (case.assigned, case.total_requested, case.collected, case.reported)
        for index, amount in enumerate(amounts):
            self.money[index] += amount
        self.unpaid += case.unpaid_count

    def row(self) -> list[Any]:
        label = _("Total (%(count)s cases)") % {"count": self.cases}
        return [label, None, None, None, None, *self.money, self.unpaid, None]


def report_row(case: Any) -> list[Any]:
    last_note = timezone.localdate(case.last_note_at) if case.last_note_at else None
    return [
        case.contract_number,
        case.creditor_reference,
        case.main_debtor_name,
        case.main_debtor_tax_code,
        case.get_state_display(),
        case.assigned,
        case.total_requested,
        case.collected,
        case.reported,
        case.unpaid_count,
        last_note,
    ]


def _streamed_cases(batch: Batch) -> Iterator[Case]:
    return report_cases(batch).iterator(chunk_size=ROWS_CHUNK)


def write_end_of_mandate_xlsx(batch: Batch, stream: IO[bytes]) -> None:
    """One row per case of the batch, then the totals, written as the cases stream from the
    database; amounts are numbers and dates are dates, so the creditor can sum and sort them."""
    workbook = Workbook(write_only=True)
    sheet: WriteOnlyWorksheet = workbook.create_sheet(_("End of mandate"))
    for index, column in enumerate(REPORT_COLUMNS, 1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"

    bold = Font(bold=True)
    sheet.append([typed_cell(sheet, str(column.header), "text", bold) for column in REPORT_COLUMNS])
    totals = ReportTotals()
    for case in _streamed_cases(batch):
        totals.add(case)
        values = report_row(case)
        sheet.append(
            [typed_cell(sheet, v, c.kind) for v, c in zip(values, REPORT_COLUMNS, strict=True)]
        )
    sheet.append(
        [
            typed_cell(sheet, v, c.kind, bold)
            for v, c in zip(totals.row(), REPORT_COLUMNS, strict=True)
        ]
    )
    workbook.save(stream)
