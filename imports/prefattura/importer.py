"""The pre-invoice importer: rows staged and given their case in SQL, matched a few thousand
cases at a time, and every change written back in bulk."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from typing import Any

from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from accounts.models import AuditAction
from accounts.services import record_event
from billing.commission import CommissionCalculator, PaymentToCommission
from billing.models import PreInvoice, PreInvoiceState
from cases.models import (
    ZERO,
    Case,
    Installment,
    InstallmentStatus,
    Payment,
    PaymentAllocation,
    PaymentChannel,
    PaymentEvent,
    PaymentState,
)
from core.bulk import chunked, insert_into, insert_rows, refresh_statistics
from creditors.models import Batch
from imports.mapping import RowParser, row_error
from imports.models import ImportJob, ImportRow, RowOutcome
from imports.prefattura.matching import (
    OPEN_TO_COMMISSION,
    CaseLedger,
    CasePayment,
    Match,
    OpenInstallment,
    PendingRow,
    money,
)
from imports.readers import Cell

logger = logging.getLogger(__name__)

FIELDS = ("batch_code", "contract_number", "debtor_name", "paid_on", "amount")
STAGING_TABLE = "incasso_prefattura_staging"
STAGING_COLUMNS = (
    ("number", "integer"),
    ("outcome", "varchar(30)"),
    ("message", "text"),
    ("batch_code", "varchar(50)"),
    ("contract_number", "varchar(64)"),
    ("debtor_name", "varchar(200)"),
    ("paid_on", "date"),
    ("amount", "numeric(14, 2)"),
)
# What matching decided for each row, written back to ImportRow and the payments set-wise.
RESULTS_TABLE = "incasso_prefattura_results"
RESULT_COLUMNS = (
    ("row_id", "integer"),
    ("outcome", "varchar(30)"),
    ("message", "text"),
    ("payment_id", "integer"),
    ("installment_id", "integer"),
    ("closest_id", "integer"),
    ("commission", "numeric(14, 2)"),
    ("rate", "numeric(5, 2)"),
    ("previous_status", "varchar(12)"),
    ("paid_on", "date"),
)
NOT_FOUND = (RowOutcome.CONTRACT_NOT_FOUND, RowOutcome.AMOUNT_NOT_MATCHED)
CENTS = Decimal("0.01")
# Cases whose payments and installments are read and matched together.
CASES_PER_PASS = 2000


class PreInvoiceImporter:
    """Stages the file's rows, matches them to payments and installments, and commissions."""

    def __init__(self, job: ImportJob, parser: RowParser) -> None:
        self.job = job
        self.parser = parser
        self.rows = 0
        self.counts: dict[str, Any] = {}
        self.matches: list[Match] = []
        self.values = ValueCache()
        self.today = timezone.localdate()

    # Reading

    def read(self, rows: Iterator[tuple[int, list[Cell]]], progress: Callable[[int], None]) -> None:
        _create_table(STAGING_TABLE, STAGING_COLUMNS)
        columns = [name for name, _type in STAGING_COLUMNS]
        for chunk in chunked(rows, 2000):
            insert_into(STAGING_TABLE, columns, [self._stage(n, cells) for n, cells in chunk])
            self.rows += len(chunk)
            progress(self.rows)

    def _stage(self, number: int, cells: list[Cell]) -> tuple[Any, ...]:
        v, errors = self.parser.parse(cells, FIELDS)
        name = (v.get("debtor_name") or "")[:200]
        if not errors and v["amount"] <= ZERO:
            # A refund or an empty line of the creditor's: nothing a payment could match.
            errors = [
                _("the amount %(amount)s is not a payment: it must be above zero")
                % {"amount": money(v["amount"])}
            ]
        if not errors and v["paid_on"] > self.today:
            # A typing error of the creditor's: a payment to come is not a payment made.
            errors = [
                _("the payment date %(date)s is in the future")
                % {"date": v["paid_on"].strftime("%d/%m/%Y")}
            ]
        if errors:
            message = row_error(number, errors)
            contract = v.get("contract_number") or ""
            return (number, RowOutcome.ERROR, message, "", contract, name, None, None)
        batch, contract = v["batch_code"], v["contract_number"]
        return (number, "", "", batch, contract, name, v["paid_on"], v["amount"])

    # Applying

    def apply(self) -> None:
        """Match every row; unless previewing, commission the payments in a draft pre-invoice."""
        try:
            self._insert_rows()
        finally:
            _drop_table(STAGING_TABLE)
        refresh_statistics(ImportRow)
        calculator = CommissionCalculator.for_creditor(self.job.creditor_id)
        for rows in self._pending_by_cases():
            self.matches += self._match_cases(rows, calculator)
        pre_invoice = None
        if not self.job.dry_run:
            pre_invoice = self._write_payments()
        self._write_results(pre_invoice)
        self.counts = self._count(pre_invoice)

    def _execute(self, sql: str, **params: Any) -> int:
        tables = {
            "staging": STAGING_TABLE,
            "results": RESULTS_TABLE,
            "row": ImportRow._meta.db_table,
            "case": Case._meta.db_table,
            "batch": Batch._meta.db_table,
            "installment": Installment._meta.db_table,
            "payment": Payment._meta.db_table,
            "allocation": PaymentAllocation._meta.db_table,
        }
        with connection.cursor() as cursor:
            cursor.execute(sql.format(**tables), {"job": self.job.pk, **params})
            return int(cursor.rowcount)

    def _insert_rows(self) -> None:
        """Write the job's rows, each with its case: the creditor's latest case with the batch
        code and contract; a row without one says whether the contract is in another batch."""
        not_in_batch = _(
            "Contract %(contract)s is not in batch %(batch)s: the creditor's case is in batch "
            "%(other)s."
        ) % {"contract": "{contract}", "batch": "{batch}", "other": "{other}"}
        unknown = _("The creditor has no case with contract %(contract)s.") % {
            "contract": "{contract}"
        }
        self._execute(
            """
            WITH located AS MATERIALIZED (
                SELECT s.*, (
                    SELECT MAX(c.id) FROM {case} c JOIN {batch} b ON b.id = c.batch_id
                    WHERE c.creditor_id = %(creditor)s AND c.contract_number = s.contract_number
                      AND b.code = s.batch_code
                ) AS case_id
                FROM {staging} s
            ), explained AS MATERIALIZED (
                SELECT l.*, CASE WHEN l.outcome = '' AND l.case_id IS NULL THEN (
                    SELECT MAX(b.code) FROM {case} c JOIN {batch} b ON b.id = c.batch_id
                    WHERE c.creditor_id = %(creditor)s AND c.contract_number = l.contract_number
                ) END AS other_batch
                FROM located l
            )
            INSERT INTO {row} (
                job_id, number, outcome, message, batch_code, contract_number, debtor_name,
                paid_on, amount, case_id, payment_method, previous_status
            )
            SELECT %(job)s, e.number,
                CASE WHEN e.outcome <> '' THEN e.outcome
                    WHEN e.case_id IS NULL THEN %(no_contract)s ELSE '' END,
                CASE WHEN e.outcome <> '' THEN e.message
                    WHEN e.case_id IS NOT NULL THEN ''
                    WHEN e.other_batch IS NULL
                        THEN REPLACE(%(unknown)s, '{{contract}}', e.contract_number)
                    ELSE REPLACE(REPLACE(REPLACE(%(not_in_batch)s,
                        '{{contract}}', e.contract_number), '{{batch}}', e.batch_code),
                        '{{other}}', e.other_batch) END,
                e.batch_code, e.contract_number, e.debtor_name, e.paid_on, e.amount, e.case_id,
                '', ''
            FROM explained e
            """,
            creditor=self.job.creditor_id,
            no_contract=RowOutcome.CONTRACT_NOT_FOUND,
            unknown=unknown,
            not_in_batch=not_in_batch,
        )

    def _pending_by_cases(self) -> Iterator[list[PendingRow]]:
        """The rows with a case and no outcome yet, a few thousand cases at a time, each case's
        rows in order of payment date, then of row."""
        rows = self._query(
            """
            SELECT r.id, r.number, r.case_id, c.batch_id, CAST(b.assigned_on AS TEXT),
                CAST(r.paid_on AS TEXT), CAST(r.amount AS TEXT)
            FROM {row} r JOIN {case} c ON c.id = r.case_id JOIN {batch} b ON b.id = c.batch_id
            WHERE r.job_id = %(job)s AND r.outcome = '' AND r.case_id IS NOT NULL
            ORDER BY r.case_id, r.paid_on, r.number
            """
        )
        day, cents = self.values.day, self.values.cents
        pending = (
            PendingRow(pk, number, case, batch, day(assigned), day(paid), cents(amount))
            for pk, number, case, batch, assigned, paid, amount in rows
        )
        cases = (list(case_rows) for _case, case_rows in groupby(pending, lambda r: r.case_id))
        for chunk in chunked(cases, CASES_PER_PASS):
            yield [row for case_rows in chunk for row in case_rows]

    def _query(self, sql: str, params: dict[str, Any] | None = None) -> Iterator[tuple[Any, ...]]:
        """Rows of a query, fetched a chunk at a time. Dates and amounts come as text (exact on
        both databases, no float) and are converted once per distinct value."""
        tables = {
            "row": ImportRow._meta.db_table,
            "case": Case._meta.db_table,
            "batch": Batch._meta.db_table,
            "installment": Installment._meta.db_table,
            "payment": Payment._meta.db_table,
            "pre_invoice": PreInvoice._meta.db_table,
        }
        with connection.cursor() as cursor:
            cursor.execute(sql.format(**tables), {"job": self.job.pk, **(params or {})})
            while chunk := cursor.fetchmany(5000):
                yield from chunk

    def _match_cases(self, rows: list[PendingRow], calculator: CommissionCalculator) -> list[Match]:
        case_ids = sorted({row.case_id for row in rows})
        ledgers = self._ledgers(case_ids)
        matches = [ledgers[row.case_id].match(row) for row in rows]
        matched = [m for m in matches if m.outcome == RowOutcome.MATCHED]
        calculator.prime(case_ids)
        items = [
            PaymentToCommission(
                m, m.row.case_id, m.row.batch_id, m.row.assigned_on, m.row.paid_on, m.row.amount
            )
            for m in matched
        ]
        for result in calculator.compute(items):
            match = result.key
            match.commission, match.rate = result.amount, result.rate
            match.without_terms = not result.has_terms
            notes = [match.message] if match.message else []
            if not result.has_terms:
                notes.append(
                    _("No commission terms for the batch or the creditor: commission at 0%.")
                )
            if result.capped:
                notes.append(_("Commission limited by the cap per case."))
            match.message = " ".join(notes)
        return matches

    def _ledgers(self, case_ids: list[int]) -> dict[int, CaseLedger]:
        """Each case's payments, and its open installments in due-date order."""
        ledgers = {case_id: CaseLedger([], []) for case_id in case_ids}
        # Ids of this job's own rows, never input: safe to write into the statement.
        ids = ", ".join(str(int(case_id)) for case_id in case_ids)
        if not self.job.dry_run and connection.vendor == "postgresql":
            # Held until the job commits: a payment recorded by hand on one of these cases
            # (which locks its case too) waits, then allocates to what the file left open,
            # instead of paying an installment the file pays as well. SQLite writes one
            # transaction at a time already.
            lock = f"SELECT id FROM {{case}} WHERE id IN ({ids}) ORDER BY id FOR UPDATE"  # noqa: S608 - integers only
            list(self._query(lock))
        day, cents = self.values.day, self.values.cents
        payments = self._query(
            f"""
            SELECT p.case_id, p.id, CAST(p.paid_on AS TEXT), CAST(p.amount AS TEXT), p.state,
                p.commission IS NOT NULL, i.state
            FROM {{payment}} p LEFT JOIN {{pre_invoice}} i ON i.id = p.pre_invoice_id
            WHERE p.case_id IN ({ids}) ORDER BY p.case_id, p.id
            """  # noqa: S608 - integers only
        )
        for case_id, pk, paid_on, amount, state, has_commission, invoice_state in payments:
            commissioned = bool(has_commission) or state not in OPEN_TO_COMMISSION
            locked = invoice_state == PreInvoiceState.CONFIRMED
            ledgers[case_id].payments.append(
                CasePayment(pk, day(paid_on), cents(amount), state, commissioned, locked)
            )
        installments = self._query(
            f"""
            SELECT case_id, id, number, CAST(due_date AS TEXT), CAST(amount AS TEXT),
                CAST(paid_amount AS TEXT), status
            FROM {{installment}}
            WHERE case_id IN ({ids}) AND status <> %(paid)s AND amount > paid_amount
            ORDER BY case_id, due_date, number, id
            """,  # noqa: S608 - integers only
            {"paid": InstallmentStatus.PAID},
        )
        for case_id, pk, number, due, amount, paid, status in installments:
            outstanding = cents(amount) - cents(paid)
            ledgers[case_id].installments.append(
                OpenInstallment(pk, number, day(due), outstanding, status)
            )
        return ledgers

    # Writing

    def _write_payments(self) -> PreInvoice | None:
        """Create the draft pre-invoice and the payments, allocate them, pay the installments,
        commission the registered payments and record an event for each payment."""
        matched = [m for m in self.matches if m.outcome == RowOutcome.MATCHED]
        if not matched:
            return None
        pre_invoice = PreInvoice.objects.create(
            creditor_id=self.job.creditor_id,
            period_start=min(m.row.paid_on for m in matched),
            period_end=max(m.row.paid_on for m in matched),
            job=self.job,
            created_by=self.job.created_by,
        )
        record_event(
            self.job.created_by,
            AuditAction.CREATE,
            pre_invoice,
            summary=f"draft from import job {self.job.pk}: {len(matched)} payments",
        )
        created = [m for m in matched if m.payment is not None and m.payment.id is None]
        self._create_payments(created, pre_invoice)
        insert_rows(
            PaymentAllocation,
            ("payment_id", "installment_id", "amount", "previous_status"),
            (
                (m.payment.id, installment.id, amount, installment.status)
                for m in created
                if m.payment is not None
                for installment, amount in m.allocations
            ),
        )
        self._pay_installments()
        self._record_events(matched)
        return pre_invoice

    def _create_payments(self, created: list[Match], pre_invoice: PreInvoice) -> None:
        """Insert the payments found on installments, then read back their ids: a job creates
        at most one payment per case, date and amount (a second row is the same payment)."""
        today, now = timezone.localdate(), timezone.now()
        insert_rows(
            Payment,
            (
                "case_id",
                "paid_on",
                "amount",
                "channel",
                "state",
                "collected_on",
                "commissioned_on",
                "commission_rate",
                "commission",
                "pre_invoice_id",
                "created_job_id",
                "commissioned_job_id",
                "created_at",
            ),
            (
                (
                    m.row.case_id,
                    m.row.paid_on,
                    m.row.amount,
                    PaymentChannel.AGENCY,
                    PaymentState.COMMISSIONED,
                    m.row.paid_on,
                    today,
                    m.rate,
                    m.commission,
                    pre_invoice.pk,
                    self.job.pk,
                    self.job.pk,
                    now,
                )
                for m in created
            ),
        )
        ids = {
            (case_id, paid_on, amount): pk
            for pk, case_id, paid_on, amount in Payment.objects.filter(created_job=self.job)
            .order_by()
            .values_list("pk", "case_id", "paid_on", "amount")
            .iterator(chunk_size=5000)
        }
        for m in created:
            assert m.payment is not None  # noqa: S101 - created rows have their payment
            m.payment.id = ids[m.row.case_id, m.row.paid_on, m.row.amount]

    def _pay_installments(self) -> None:
        self._execute(
            """
            UPDATE {installment} SET paid_amount = {installment}.paid_amount + s.total,
                status = CASE WHEN {installment}.paid_amount + s.total >= {installment}.amount
                    THEN %(paid)s ELSE {installment}.status END
            FROM (
                SELECT a.installment_id, SUM(a.amount) AS total
                FROM {allocation} a JOIN {payment} p ON p.id = a.payment_id
                WHERE p.created_job_id = %(job)s GROUP BY a.installment_id
            ) s
            WHERE {installment}.id = s.installment_id
            """,
            paid=InstallmentStatus.PAID,
        )

    def _record_events(self, matched: list[Match]) -> None:
        now = timezone.now()
        user = self.job.created_by_id
        template = _("Row %(row)s of the pre-invoice file: commission %(amount)s at %(rate)s%%.")
        formatted = self.values.formatted
        events = []
        for m in matched:
            assert m.payment is not None  # noqa: S101 - a matched row has its payment
            detail = template % {
                "row": m.row.number,
                "amount": formatted(m.commission or ZERO, money),
                "rate": formatted(m.rate or ZERO, rate_format),
            }
            from_state = m.previous_status
            to = PaymentState.COMMISSIONED
            events.append((m.payment.id, now, user, self.job.pk, from_state, to, detail))
        insert_rows(
            PaymentEvent,
            ("payment_id", "at", "user_id", "job_id", "from_state", "to_state", "detail"),
            events,
        )

    def _write_results(self, pre_invoice: PreInvoice | None) -> None:
        """Write each row's outcome, and commission the registered payments matched."""
        _create_table(RESULTS_TABLE, RESULT_COLUMNS)
        try:
            insert_into(
                RESULTS_TABLE,
                [name for name, _type in RESULT_COLUMNS],
                (self._result(m) for m in self.matches),
            )
            self._execute(
                """
                UPDATE {row} SET outcome = r.outcome, message = r.message,
                    payment_id = r.payment_id, installment_id = r.installment_id,
                    closest_id = r.closest_id, commission = r.commission,
                    previous_status = r.previous_status
                FROM {results} r WHERE {row}.id = r.row_id
                """
            )
            if pre_invoice is not None:
                self._commission_registered(pre_invoice)
        finally:
            _drop_table(RESULTS_TABLE)

    @staticmethod
    def _result(m: Match) -> tuple[Any, ...]:
        payment_id = m.payment.id if m.payment is not None else None
        installment_id = m.allocations[0][0].id if m.allocations else None
        return (
            m.row.id,
            m.outcome,
            m.message,
            payment_id,
            installment_id,
            m.closest_id,
            m.commission,
            m.rate,
            m.previous_status,
            m.row.paid_on,
        )

    def _commission_registered(self, pre_invoice: PreInvoice) -> None:
        self._execute(
            """
            UPDATE {payment} SET state = %(commissioned)s,
                collected_on = COALESCE({payment}.collected_on, r.paid_on),
                commissioned_on = %(today)s, commission_rate = r.rate,
                commission = r.commission, pre_invoice_id = %(pre_invoice)s,
                commissioned_job_id = %(job)s
            FROM {results} r
            WHERE r.payment_id = {payment}.id AND r.outcome = %(matched)s
              AND r.previous_status <> ''
            """,
            commissioned=PaymentState.COMMISSIONED,
            today=timezone.localdate(),
            pre_invoice=pre_invoice.pk,
            matched=RowOutcome.MATCHED,
        )

    def _count(self, pre_invoice: PreInvoice | None) -> dict[str, Any]:
        rows = ImportRow.objects.filter(job=self.job).order_by()
        by_outcome = dict(rows.values_list("outcome").annotate(n=Count("id")))
        matched = [m for m in self.matches if m.outcome == RowOutcome.MATCHED]
        totals = rows.filter(outcome=RowOutcome.MATCHED).aggregate(
            collected=Sum("amount"), commission=Sum("commission")
        )
        return {
            "rows": self.rows,
            "matched": by_outcome.get(RowOutcome.MATCHED, 0),
            "already_commissioned": by_outcome.get(RowOutcome.ALREADY_COMMISSIONED, 0),
            "collected_total": _cents(totals["collected"]),
            "commission_total": _cents(totals["commission"]),
            "payments_created": sum(1 for m in matched if m.allocations),
            "without_terms": sum(1 for m in matched if m.without_terms),
            "not_found": {outcome.value: by_outcome.get(outcome, 0) for outcome in NOT_FOUND},
            "errors": by_outcome.get(RowOutcome.ERROR, 0),
            "pre_invoice": pre_invoice.pk if pre_invoice is not None else None,
        }


class ValueCache:
    """Dates and amounts read as text, and their display forms, converted once per value:
    a file repeats the same dates and amounts many times."""

    def __init__(self) -> None:
        self._days: dict[str, datetime.date] = {}
        self._cents: dict[str, Decimal] = {}
        self._formatted: dict[tuple[Decimal, Callable[[Decimal], str]], str] = {}

    def day(self, text: str) -> datetime.date:
        value = self._days.get(text)
        if value is None:
            value = self._days[text] = datetime.date.fromisoformat(text[:10])
        return value

    def cents(self, text: str) -> Decimal:
        value = self._cents.get(text)
        if value is None:
            # SQLite writes "120.5" for 120.50: quantised back to the cent, exactly.
            value = self._cents[text] = Decimal(text).quantize(CENTS, rounding=ROUND_HALF_UP)
        return value

    def formatted(self, value: Decimal, style: Callable[[Decimal], str]) -> str:
        shown = self._formatted.get((value, style))
        if shown is None:
            shown = self._formatted[value, style] = style(value)
        return shown


def rate_format(rate: Decimal) -> str:
    return str(number_format(rate, 2))


def _cents(amount: Decimal | None) -> str:
    return str((amount or ZERO).quantize(Decimal("0.01")))


def _create_table(name: str, columns: tuple[tuple[str, str], ...]) -> None:
    definition = ", ".join(f"{column} {kind}" for column, kind in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({definition})")


def _drop_table(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
