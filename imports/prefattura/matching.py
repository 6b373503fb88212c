"""Matching one case's pre-invoice rows, in memory, against its payments and open
installments: a registered payment of the same date and amount, else the earliest open
installments adding up to the amount, else the one installment of that amount due nearest the
payment date; never anything forced."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from cases.models import ZERO, PaymentState
from imports.models import RowOutcome

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
        if self._registered_on_another_day(row):
            # The same money recorded on another date: paying an installment too would count
            # it twice; the row is reported with that payment as the closest candidate.
            return self._not_matched(row)
        covered = self._prefix(row.amount) or self._single(row)
        if covered:
            return self._create(row, covered)
        return self._not_matched(row)

    def _registered_on_another_day(self, row: PendingRow) -> bool:
        return any(
            p.id is not None
            and p.amount == row.amount
            and p.taken_by_row is None
            and not p.commissioned
            and not p.locked
            for p in self.payments
        )

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
