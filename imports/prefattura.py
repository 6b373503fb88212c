"""Pre-invoices (prefatture): the creditor lists the payments on which it recognises the
agency's commission; each row is matched to a payment of the case and, once found, the payment
is collected and commissioned and joins a draft pre-invoice.

For each row, in order of payment date within a case:

- the case is the creditor's case with that batch code and contract (the most recent when the
  contract was assigned again); none: `contract_not_found`;
- the payment is the case's registered payment with the same date and amount. Reported or
  collected, it becomes commissioned; already commissioned or invoiced, or on a confirmed
  pre-invoice, or matched by an earlier row of the same file: `already_commissioned`, and
  nothing changes;
- else a payment is created for open installments whose outstanding amounts add up to the
  amount exactly: first the earliest open installments in due-date order (one, two or more in a
  row), else the one open installment of exactly that amount whose due date is nearest the
  payment date (the debtor paid a later installment first);
- else `amount_not_matched`, with the closest candidate in the message: never forced.

Rows are staged in a temporary table and written to ImportRow with their case in one
statement; the payments and open installments of the cases are then read a few thousand cases
at a time, matched in memory, and every change is written back with bulk inserts and
UPDATE ... FROM statements.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import groupby
from typing import Any

from django.db import connection
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

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
# Cases whose payments and installments are read and matched together.
CASES_PER_PASS = 2000
OPEN_TO_COMMISSION = (PaymentState.REPORTED, PaymentState.COLLECTED)


def money(amount: Decimal) -> str:
    return f"€ {number_format(amount, 2, force_grouping=True)}"


@dataclass
class OpenInstallment:
    id: int
    number: int
    due_date: datetime.date
    outstanding: Decimal
    status: str


@dataclass
class CasePayment:
    """A payment of the case as matching sees it: registered before, or created by this job."""

    id: int | None
    paid_on: datetime.date
    amount: Decimal
    state: str
    commissioned: bool
    locked: bool
    taken_by_row: int | None = None


@dataclass
class PendingRow:
    id: int
    number: int
    case_id: int
    batch_id: int
    assigned_on: datetime.date
    paid_on: datetime.date
    amount: Decimal


@dataclass
class Match:
    """What one row found: its outcome and, when matched, the payment and the allocations."""

    row: PendingRow
    outcome: str
    message: str = ""
    payment: CasePayment | None = None
    previous_status: str = ""
    allocations: list[tuple[OpenInstallment, Decimal]] = field(default_factory=list)
    closest_id: int | None = None
    commission: Decimal | None = None
    rate: Decimal | None = None
    without_terms: bool = False


@dataclass
class CaseLedger:
    """The payments and open installments of one case, consumed as its rows are matched."""

    payments: list[CasePayment]
    installments: list[OpenInstallment]

    def match(self, row: PendingRow) -> Match:
        same = [p for p in self.payments if p.paid_on == row.paid_on and p.amount == row.amount]
        free = [p for p in same if p.taken_by_row is None and not p.commissioned and not p.locked]
        if free:
            payment = free[0]
            payment.taken_by_row = row.number
            return Match(row, RowOutcome.MATCHED, payment=payment, previous_status=payment.state)
        if same:
            return Match(
                row, RowOutcome.ALREADY_COMMISSIONED, self._already(same[0]), payment=same[0]
            )
        covered = self._prefix(row.amount) or self._single(row)
        if covered:
            return self._create(row, covered)
        return self._not_matched(row)

    @staticmethod
    def _already(payment: CasePayment) -> str:
        if payment.taken_by_row is not None:
            return _("The same payment is on row %(row)s of this file.") % {
                "row": payment.taken_by_row
            }
        if payment.locked:
            return _("The payment is on a confirmed pre-invoice: nothing was changed.")
        return _("The payment was already commissioned (%(state)s): nothing was changed.") % {
            "state": PaymentState(payment.state).label
        }

    def _open(self) -> list[OpenInstallment]:
        return [i for i in self.installments if i.outstanding > 0]

    def _prefix(self, amount: Decimal) -> list[OpenInstallment]:
        """The earliest open installments whose outstanding amounts add up to the amount."""
        total = ZERO
        taken = []
        for installment in self._open():
            total += installment.outstanding
            taken.append(installment)
            if total == amount:
                return taken
            if total > amount:
                break
        return []

    def _single(self, row: PendingRow) -> list[OpenInstallment]:
        """The open installment of exactly the amount due nearest the payment date."""
        same = [i for i in self._open() if i.outstanding == row.amount]
        if not same:
            return []
        return [min(same, key=lambda i: (abs((i.due_date - row.paid_on).days), i.due_date))]

    def _create(self, row: PendingRow, covered: list[OpenInstallment]) -> Match:
        payment = CasePayment(None, row.paid_on, row.amount, "", commissioned=False, locked=False)
        payment.taken_by_row = row.number
        self.payments.append(payment)
        allocations = []
        for installment in covered:
            allocations.append((installment, installment.outstanding))
            installment.outstanding = ZERO
        numbers = ", ".join(str(i.number) for i in covered)
        message = _("Payment created on installment(s) %(numbers)s.") % {"numbers": numbers}
        return Match(row, RowOutcome.MATCHED, message, payment=payment, allocations=allocations)

    def _not_matched(self, row: PendingRow) -> Match:
        other_date = [
            p
            for p in self.payments
            if p.amount == row.amount and not p.commissioned and p.taken_by_row is None
        ]
        if other_date:
            message = _(
                "No payment or open installments add up to %(amount)s on %(date)s; closest: a "
                "registered payment of the same amount on %(other)s."
            ) % {
                "amount": money(row.amount),
                "date": f"{row.paid_on:%d/%m/%Y}",
                "other": f"{other_date[0].paid_on:%d/%m/%Y}",
            }
            return Match(row, RowOutcome.AMOUNT_NOT_MATCHED, message)
        candidates = self._open()
        if not candidates:
            message = _(
                "No payment of %(amount)s on %(date)s and the case has no open installments."
            ) % {"amount": money(row.amount), "date": f"{row.paid_on:%d/%m/%Y}"}
            return Match(row, RowOutcome.AMOUNT_NOT_MATCHED, message)
        closest = min(
            candidates,
            key=lambda i: (abs(i.outstanding - row.amount), abs((i.due_date - row.paid_on).days)),
        )
        message = _(
            "No payment or open installments add up to %(amount)s; closest: installment "
            "%(number)s due %(due)s, %(outstanding)s outstanding."
        ) % {
            "amount": money(row.amount),
            "number": closest.number,
            "due": f"{closest.due_date:%d/%m/%Y}",
            "outstanding": money(closest.outstanding),
        }
        return Match(row, RowOutcome.AMOUNT_NOT_MATCHED, message, closest_id=closest.id)


class PreInvoiceImporter:
    """Stages the file's rows, matches them to payments and installments, and commissions."""

    def __init__(self, job: ImportJob, parser: RowParser) -> None:
        self.job = job
        self.parser = parser
        self.rows = 0
        self.counts: dict[str, Any] = {}
        self.matches: list[Match] = []

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
        rows = (
            ImportRow.objects.filter(job=self.job, outcome="", case__isnull=False)
            .order_by("case_id", "paid_on", "number")
            .values_list(
                "id",
                "number",
                "case_id",
                "case__batch_id",
                "case__batch__assigned_on",
                "paid_on",
                "amount",
            )
        )
        # Rows with a case were parsed whole, so their date and amount are set.
        pending = (PendingRow(*values) for values in rows.iterator(5000))  # type: ignore[arg-type]
        cases = (list(case_rows) for _case, case_rows in groupby(pending, lambda r: r.case_id))
        for chunk in chunked(cases, CASES_PER_PASS):
            yield [row for case_rows in chunk for row in case_rows]

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

    @staticmethod
    def _ledgers(case_ids: list[int]) -> dict[int, CaseLedger]:
        ledgers = {case_id: CaseLedger([], []) for case_id in case_ids}
        payments = (
            Payment.objects.filter(case_id__in=case_ids)
            .order_by("case_id", "id")
            .values_list(
                "case_id", "id", "paid_on", "amount", "state", "commission", "pre_invoice__state"
            )
        )
        for case_id, pk, paid_on, amount, state, commission, invoice_state in payments:
            commissioned = commission is not None or state not in OPEN_TO_COMMISSION
            locked = invoice_state == PreInvoiceState.CONFIRMED
            ledgers[case_id].payments.append(
                CasePayment(pk, paid_on, amount, state, commissioned, locked)
            )
        installments = (
            Installment.objects.filter(case_id__in=case_ids)
            .exclude(status=InstallmentStatus.PAID)
            .order_by("case_id", "due_date", "number", "id")
            .values_list("case_id", "id", "number", "due_date", "amount", "paid_amount", "status")
        )
        for case_id, pk, number, due, amount, paid, status in installments:
            if amount > paid:
                ledgers[case_id].installments.append(
                    OpenInstallment(pk, number, due, amount - paid, status)
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
        events = []
        for m in matched:
            assert m.payment is not None  # noqa: S101 - a matched row has its payment
            detail = _("Row %(row)s of the pre-invoice file: commission %(amount)s at %(rate)s%%.")
            detail %= {
                "row": m.row.number,
                "amount": money(m.commission or ZERO),
                "rate": number_format(m.rate or ZERO, 2),
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
