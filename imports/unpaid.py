"""Unpaid installments (insoluti): the creditor's rows are staged, matched against the
installments set-wise in SQL, and the ones found become unpaid with their protest fees."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from cases.models import (
    ZERO,
    Case,
    CaseState,
    Installment,
    InstallmentStatus,
    Note,
    NoteKind,
)
from core.bulk import chunked, insert_rows
from imports.mapping import RowParser, row_error
from imports.models import ImportJob, ImportRow, RowOutcome
from imports.readers import Cell

logger = logging.getLogger(__name__)

FIELDS = (
    "contract_number",
    "installment_number",
    "due_date",
    "amount",
    "payment_method",
    "unpaid_on",
    "fees",
)
STAGING_COLUMNS = (
    "job_id",
    "number",
    "outcome",
    "message",
    "contract_number",
    "installment_number",
    "due_date",
    "amount",
    "payment_method",
    "fees",
    "unpaid_on",
    "previous_status",
)
# Which installment fields must agree for each kind of near miss, in the order they are tried.
NEAR_MISSES = (
    (RowOutcome.AMOUNT_MISMATCH, ("due_date", "payment_method")),
    (RowOutcome.DUE_DATE_MISMATCH, ("amount", "payment_method")),
    (RowOutcome.PAYMENT_METHOD_MISMATCH, ("due_date", "amount")),
    (RowOutcome.INSTALLMENT_NOT_FOUND, ()),
)
NOT_FOUND = (
    RowOutcome.CONTRACT_NOT_FOUND,
    RowOutcome.AMOUNT_MISMATCH,
    RowOutcome.DUE_DATE_MISMATCH,
    RowOutcome.PAYMENT_METHOD_MISMATCH,
    RowOutcome.INSTALLMENT_NOT_FOUND,
)


def euro(amount: Decimal) -> str:
    """Italian money format for system notes: 1.234,56."""
    with override("it"):
        return number_format(amount, 2, force_grouping=True)


class UnpaidImporter:
    """Stages the file's rows, matches them in the database, and applies what was found."""

    def __init__(self, job: ImportJob, parser: RowParser) -> None:
        self.job = job
        self.parser = parser
        self.rows = 0
        self.counts: dict[str, Any] = {}

    def read(self, rows: Iterator[tuple[int, list[Cell]]], progress: Callable[[int], None]) -> None:
        today = timezone.localdate()
        for chunk in chunked(rows, 2000):
            staged = [self._stage(number, cells, today) for number, cells in chunk]
            insert_rows(ImportRow, STAGING_COLUMNS, staged)
            self.rows += len(chunk)
            progress(self.rows)

    def _stage(self, number: int, cells: list[Cell], today: Any) -> tuple[Any, ...]:
        v, errors = self.parser.parse(cells, FIELDS)
        if errors:
            contract = v.get("contract_number") or ""
            return (self.job.pk, number, RowOutcome.ERROR, row_error(number, errors), contract,
                    None, None, None, "", None, None, "")
        return (
            self.job.pk, number, "", "", v["contract_number"], v["installment_number"],
            v["due_date"], v["amount"], v["payment_method"], v["fees"] or ZERO,
            v["unpaid_on"] or today, "",
        )

    def apply(self) -> None:
        """Match every staged row; unless previewing, mark the installments found unpaid."""
        rows = ImportRow.objects.filter(job=self.job)
        self._match_cases(rows)
        self._match_installments(rows)
        self._mark_duplicates(rows)
        self._classify_near_misses(rows)
        if not self.job.dry_run:
            self._apply_found(rows)
        self.counts = self._count(rows)

    def _match_cases(self, rows: Any) -> None:
        # A re-assigned contract has several cases; the most recent open one is worked.
        open_case = Case.objects.filter(
            creditor=self.job.creditor,
            state=CaseState.OPEN,
            contract_number=OuterRef("contract_number"),
        ).order_by("-id")
        pending = rows.filter(outcome="")
        pending.update(case_id=Subquery(open_case.values("id")[:1]))
        pending.filter(case__isnull=True).update(outcome=RowOutcome.CONTRACT_NOT_FOUND)

    def _match_installments(self, rows: Any) -> None:
        exact = Installment.objects.filter(
            case_id=OuterRef("case_id"),
            due_date=OuterRef("due_date"),
            amount=OuterRef("amount"),
            payment_method=OuterRef("payment_method"),
        )
        self._point_to(rows.filter(outcome=""), exact, "installment_id")

    @staticmethod
    def _point_to(rows: Any, candidates: Any, column: str) -> None:
        """Set the column to the best candidate: the one with the row's number, else the
        earliest due. Two passes, since SQLite cannot order a correlated subquery by an outer
        column."""
        rows.update(**{column: Subquery(candidates.order_by("due_date", "id").values("id")[:1])})
        same_number = candidates.filter(number=OuterRef("installment_number"))
        rows.filter(installment_number__isnull=False).filter(Exists(same_number)).update(
            **{column: Subquery(same_number.order_by("id").values("id")[:1])}
        )

    def _mark_duplicates(self, rows: Any) -> None:
        matched = rows.filter(outcome="", installment__isnull=False)
        earlier_row = ImportRow.objects.filter(
            job=self.job, installment_id=OuterRef("installment_id"), number__lt=OuterRef("number")
        )
        matched.filter(Exists(earlier_row)).update(
            outcome=RowOutcome.DUPLICATE,
            message=_("The same installment is reported on an earlier row of this file."),
        )
        already = Installment.objects.filter(pk=OuterRef("installment_id"))
        matched.filter(
            Exists(already.filter(status=InstallmentStatus.UNPAID))
        ).update(
            outcome=RowOutcome.DUPLICATE,
            message=_("The installment was already reported unpaid by an earlier file."),
        )
        matched.update(
            outcome=RowOutcome.FOUND,
            previous_status=Subquery(already.values("status")[:1]),
            previous_fees=Subquery(already.values("fees")[:1]),
            previous_unpaid_on=Subquery(already.values("unpaid_on")[:1]),
        )

    def _classify_near_misses(self, rows: Any) -> None:
        for outcome, agree in NEAR_MISSES:
            candidates = Installment.objects.filter(
                case_id=OuterRef("case_id"), **{name: OuterRef(name) for name in agree}
            )
            pending = rows.filter(outcome="", case__isnull=False)
            if agree:
                pending = pending.filter(Exists(candidates))
            pending.update(outcome=outcome)
            self._point_to(rows.filter(outcome=outcome), candidates, "closest_id")

    def _apply_found(self, rows: Any) -> None:
        found = rows.filter(outcome=RowOutcome.FOUND)
        row_of = found.filter(installment_id=OuterRef("pk"))
        Installment.objects.filter(pk__in=found.values("installment_id")).update(
            status=InstallmentStatus.UNPAID,
            fees=Subquery(row_of.values("fees")[:1]),
            unpaid_on=Subquery(row_of.values("unpaid_on")[:1]),
            unpaid_job=self.job,
        )
        Case.objects.filter(pk__in=found.values("case_id")).update(needs_attention=True)
        now = timezone.now()
        notes = (
            (r[0], NoteKind.SYSTEM, self._note_text(*r[2:]), self.job.pk, r[1], now)
            for r in found.values_list(
                "case_id",
                "number",
                "installment__number",
                "installment__due_date",
                "installment__amount",
                "fees",
            ).iterator(chunk_size=5000)
        )
        insert_rows(Note, ("case_id", "kind", "text", "job_id", "row_number", "created_at"), notes)

    @staticmethod
    def _note_text(number: int, due: Any, amount: Decimal, fees: Decimal) -> str:
        # The note is part of the case file the agency shares in Italian, whatever the UI language.
        return (
            f"Rata {number} scad. {due:%d/%m/%Y} insoluta: € {euro(amount)}"
            f" + spese di protesto € {euro(fees)}"
        )

    def _count(self, rows: Any) -> dict[str, Any]:
        by_outcome = dict(rows.values_list("outcome").annotate(n=Count("id")).order_by())
        fees = rows.filter(outcome=RowOutcome.FOUND).aggregate(total=Sum("fees"))["total"]
        return {
            "rows": self.rows,
            "found": by_outcome.get(RowOutcome.FOUND, 0),
            "duplicates": by_outcome.get(RowOutcome.DUPLICATE, 0),
            "fees_total": str((fees or ZERO).quantize(Decimal("0.01"))),
            "not_found": {outcome.value: by_outcome.get(outcome, 0) for outcome in NOT_FOUND},
            "errors": by_outcome.get(RowOutcome.ERROR, 0),
        }


