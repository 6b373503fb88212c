"""Unpaid installments (insoluti): the creditor's rows are staged, matched against the
installments set-wise in SQL, and the ones found become unpaid with their protest fees."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Sum
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
from core.bulk import chunked, insert_into, insert_rows, refresh_statistics
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
# The file's rows wait in a temporary table until the job applies; only then are they written
# to ImportRow, already matched, in one statement.
STAGING_TABLE = "incasso_unpaid_staging"
STAGING_COLUMNS = (
    ("number", "integer"),
    ("outcome", "varchar(30)"),
    ("message", "text"),
    ("contract_number", "varchar(64)"),
    ("installment_number", "integer"),
    ("due_date", "date"),
    ("amount", "numeric(14, 2)"),
    ("payment_method", "varchar(3)"),
    ("fees", "numeric(14, 2)"),
    ("unpaid_on", "date"),
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
        self._create_staging()
        columns = [name for name, _type in STAGING_COLUMNS]
        for chunk in chunked(rows, 2000):
            staged = [self._stage(number, cells, today) for number, cells in chunk]
            insert_into(STAGING_TABLE, columns, staged)
            self.rows += len(chunk)
            progress(self.rows)

    def _create_staging(self) -> None:
        definition = ", ".join(f"{name} {kind}" for name, kind in STAGING_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGING_TABLE} ({definition})")

    def _drop_staging(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING_TABLE}")

    def _stage(self, number: int, cells: list[Cell], today: Any) -> tuple[Any, ...]:
        v, errors = self.parser.parse(cells, FIELDS)
        if errors:
            message = row_error(number, errors)
            contract = v.get("contract_number") or ""
            return (number, RowOutcome.ERROR, message, contract, None, None, None, "", None, None)
        return (
            number,
            "",
            "",
            v["contract_number"],
            v["installment_number"],
            v["due_date"],
            v["amount"],
            v["payment_method"],
            v["fees"] or ZERO,
            v["unpaid_on"] or today,
        )

    def apply(self) -> None:
        """Match every staged row; unless previewing, mark the installments found unpaid."""
        try:
            self._match()
        finally:
            self._drop_staging()
        # Fresh rows: with the statistics of an empty table PostgreSQL would re-scan per row.
        refresh_statistics(ImportRow)
        self._mark_repeated_rows()
        self._classify_near_misses()
        if not self.job.dry_run:
            self._apply_found()
        self.counts = self._count()

    def _execute(self, sql: str, **params: Any) -> None:
        """Run one set-wise statement over this job's staged rows.

        Matching joins the staging rows to cases and installments with UPDATE ... FROM
        (PostgreSQL, SQLite 3.33+): one statement per rule, whatever the number of rows.
        """
        tables = {
            "staging": STAGING_TABLE,
            "row": ImportRow._meta.db_table,
            "installment": Installment._meta.db_table,
            "case": Case._meta.db_table,
        }
        with connection.cursor() as cursor:
            cursor.execute(sql.format(**tables), {"job": self.job.pk, **params})

    def _match(self) -> None:
        """Write the job's rows, each with its case and exact installment found in one pass,
        keeping what the installment was before so the job can be explained and taken back.

        The case is the creditor's latest open case with the contract (a re-assigned contract
        has several); the installment agrees on due date, amount and method, preferring the
        one with the row's number, else one never reported unpaid. An installment an earlier
        file reported unpaid is a duplicate even if it has been paid since: a file sent again
        must not make a paid installment unpaid. Lookups are correlated subqueries
        on indexed columns, which both SQLite and PostgreSQL run as one index probe per row.
        """
        self._execute(
            """
            WITH located AS MATERIALIZED (
                SELECT s.*, (
                    SELECT MAX(c.id) FROM {case} c
                    WHERE c.creditor_id = %(creditor)s AND c.state = %(open)s
                      AND c.contract_number = s.contract_number
                ) AS case_id
                FROM {staging} s
            ), matched AS MATERIALIZED (
                SELECT l.*, (
                    SELECT COALESCE(
                        MIN(CASE WHEN i.number = l.installment_number THEN i.id END),
                        -- Twins (same date, amount and method): the first never reported.
                        MIN(CASE WHEN i.status <> %(unpaid)s AND i.unpaid_job_id IS NULL
                            THEN i.id END),
                        MIN(i.id)
                    ) FROM {installment} i
                    WHERE i.case_id = l.case_id AND i.due_date = l.due_date
                      AND i.amount = l.amount AND i.payment_method = l.payment_method
                ) AS installment_id
                FROM located l
            )
            INSERT INTO {row} (
                job_id, number, outcome, message, contract_number, installment_number,
                due_date, amount, payment_method, fees, unpaid_on, case_id, installment_id,
                previous_status, previous_fees, previous_unpaid_on
            )
            SELECT %(job)s, m.number,
                CASE WHEN m.outcome <> '' THEN m.outcome
                    WHEN m.case_id IS NULL THEN %(no_contract)s
                    WHEN i.id IS NULL THEN ''
                    WHEN i.status = %(unpaid)s OR i.unpaid_job_id IS NOT NULL
                        THEN %(duplicate)s ELSE %(found)s END,
                CASE WHEN m.outcome <> '' THEN m.message
                    WHEN i.status = %(unpaid)s OR i.unpaid_job_id IS NOT NULL
                        THEN %(already)s ELSE '' END,
                m.contract_number, m.installment_number, m.due_date, m.amount,
                m.payment_method, m.fees, m.unpaid_on, m.case_id, m.installment_id,
                COALESCE(i.status, ''), i.fees, i.unpaid_on
            FROM matched m LEFT JOIN {installment} i ON i.id = m.installment_id
            """,
            creditor=self.job.creditor_id,
            open=CaseState.OPEN,
            unpaid=InstallmentStatus.UNPAID,
            found=RowOutcome.FOUND,
            duplicate=RowOutcome.DUPLICATE,
            no_contract=RowOutcome.CONTRACT_NOT_FOUND,
            already=_("The installment was already reported unpaid by an earlier file."),
        )

    def _mark_repeated_rows(self) -> None:
        self._execute(
            """
            UPDATE {row} SET outcome = %(duplicate)s, message = %(message)s FROM (
                SELECT installment_id, MIN(number) AS first_row FROM {row}
                WHERE job_id = %(job)s AND installment_id IS NOT NULL GROUP BY installment_id
                HAVING COUNT(*) > 1
            ) f
            WHERE {row}.job_id = %(job)s AND {row}.outcome = %(found)s
              AND {row}.installment_id = f.installment_id AND {row}.number > f.first_row
            """,
            found=RowOutcome.FOUND,
            duplicate=RowOutcome.DUPLICATE,
            message=_("The same installment is reported on an earlier row of this file."),
        )

    def _point_to_closest(self, agree: tuple[str, ...], outcome: str) -> None:
        """Classify the pending rows whose case has an installment agreeing on `agree`, and
        point each at it: the one with the row's installment number, else the first."""
        conditions = "".join(f" AND i.{name} = r.{name}" for name in agree)
        self._execute(
            f"""
            UPDATE {{row}} SET closest_id = m.installment_id, outcome = %(outcome)s FROM (
                SELECT r.id AS row_id, COALESCE(
                    MIN(CASE WHEN i.number = r.installment_number THEN i.id END), MIN(i.id)
                ) AS installment_id
                FROM {{row}} r JOIN {{installment}} i ON i.case_id = r.case_id{conditions}
                WHERE r.job_id = %(job)s AND r.outcome = '' AND r.case_id IS NOT NULL
                GROUP BY r.id
            ) m WHERE {{row}}.id = m.row_id
            """,  # noqa: S608 - field names come from this module, not from input
            outcome=outcome,
        )

    def _classify_near_misses(self) -> None:
        for outcome, agree in NEAR_MISSES:
            self._point_to_closest(agree, outcome)

    def _apply_found(self) -> None:
        self._execute(
            """
            UPDATE {installment} SET status = %(unpaid)s, fees = r.fees,
                unpaid_on = r.unpaid_on, unpaid_job_id = %(job)s
            FROM {row} r
            WHERE r.job_id = %(job)s AND r.outcome = %(found)s
              AND r.installment_id = {installment}.id
            """,
            unpaid=InstallmentStatus.UNPAID,
            found=RowOutcome.FOUND,
        )
        found = ImportRow.objects.filter(job=self.job, outcome=RowOutcome.FOUND).order_by()
        Case.objects.filter(pk__in=found.values("case_id")).update(needs_attention=True)
        now = timezone.now()
        notes = (
            (case_id, NoteKind.SYSTEM, self._note_text(*values), self.job.pk, row, now)
            for case_id, row, *values in found.values_list(
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
    def _note_text(*values: Any) -> str:
        number, due, amount, fees = values
        # The note is part of the case file the agency shares in Italian, whatever the UI language.
        return (
            f"Rata {number} scad. {due:%d/%m/%Y} insoluta: € {euro(amount)}"
            f" + spese di protesto € {euro(fees)}"
        )

    def _count(self) -> dict[str, Any]:
        rows = ImportRow.objects.filter(job=self.job).order_by()
        by_outcome = dict(rows.values_list("outcome").annotate(n=Count("id")))
        fees = rows.filter(outcome=RowOutcome.FOUND).aggregate(total=Sum("fees"))["total"]
        return {
            "rows": self.rows,
            "found": by_outcome.get(RowOutcome.FOUND, 0),
            "duplicates": by_outcome.get(RowOutcome.DUPLICATE, 0),
            "fees_total": str((fees or ZERO).quantize(Decimal("0.01"))),
            "not_found": {outcome.value: by_outcome.get(outcome, 0) for outcome in NOT_FOUND},
            "errors": by_outcome.get(RowOutcome.ERROR, 0),
        }
