"""Payments on a case: recording one against the oldest open installments, moving it through
its states, and cancelling it while the creditor has not yet recognised it.

Every change runs in one transaction with the rows it touches locked, writes a PaymentEvent
(the payment's history, shown on the case page) and an audit event.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Case as SqlCase
from django.db.models import F, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import AuditAction, Role, User
from accounts.services import record_event
from billing.commission import CommissionCalculator, PaymentToCommission
from cases.models import (
    ZERO,
    Case,
    Installment,
    InstallmentStatus,
    Note,
    NoteKind,
    Payment,
    PaymentAllocation,
    PaymentChannel,
    PaymentEvent,
    PaymentState,
)
from core.templatetags.money import euro

logger = logging.getLogger(__name__)

# Forward only: the creditor may recognise a payment made to it directly without the agency
# ever collecting it, so a reported payment may be commissioned straight away.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PaymentState.REPORTED: (PaymentState.COLLECTED, PaymentState.COMMISSIONED),
    PaymentState.COLLECTED: (PaymentState.COMMISSIONED,),
    PaymentState.COMMISSIONED: (PaymentState.INVOICED,),
    PaymentState.INVOICED: (),
}
CANCELLABLE = (PaymentState.REPORTED, PaymentState.COLLECTED)
LARGEST_AMOUNT = Decimal("999999999999.99")
# The history is written in Italian, like the case's system notes (see allocation_detail).
STATE_IN_ITALIAN: dict[str, str] = {
    PaymentState.REPORTED: "segnalato",
    PaymentState.COLLECTED: "incassato",
    PaymentState.COMMISSIONED: "provvigionato",
    PaymentState.INVOICED: "fatturato",
}
DATE_FIELDS: dict[str, str] = {
    PaymentState.COLLECTED: "collected_on",
    PaymentState.COMMISSIONED: "commissioned_on",
}


class PaymentRefused(Exception):
    """A change the rules do not allow; the message says why, in the user's language."""

    code = "refused"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class PaymentLocked(PaymentRefused):
    """The payment belongs to a confirmed pre-invoice or was commissioned by the creditor's file."""

    code = "locked"


def may_record_payments(user: User) -> bool:
    """Anyone working the creditor's cases may record what a debtor says it paid; a creditor's
    read-only user may not."""
    return user.is_authenticated and user.role != Role.CREDITOR_VIEWER


def may_confirm_payments(user: User) -> bool:
    """Seeing the money arrive, and cancelling a payment, is for back office, leaders and
    administrators: the people who may also change cases in bulk."""
    return user.is_authenticated and user.can_import


def may_cancel(user: User, payment: Payment) -> bool:
    """Whether the user may cancel the payment as it is now (the case page offers it)."""
    cancellable = payment.state in CANCELLABLE and not payment.is_locked
    return cancellable and may_ask_to_cancel(user, payment)


def may_ask_to_cancel(user: User, payment: Payment) -> bool:
    """Back office and up cancel any payment; the user who recorded a payment may cancel it
    while it is still only reported."""
    if may_confirm_payments(user):
        return True
    return payment.state == PaymentState.REPORTED and payment.recorded_by_id == user.pk


def check_new_payment(case: Case, paid_on: datetime.date, amount: Decimal) -> None:
    """Refuse a payment on a closed case, of nothing, or dated in the future."""
    if not case.is_open:
        raise PaymentRefused(
            _("Case %(contract)s is %(state)s: payments are recorded on open cases only.")
            % {"contract": case.contract_number, "state": case.get_state_display().lower()}
        )
    if amount <= ZERO:
        raise PaymentRefused(_("The amount must be greater than zero."), field="amount")
    if amount > LARGEST_AMOUNT:
        # The command line takes any number; the database holds 14 digits.
        raise PaymentRefused(
            _("The amount cannot be more than %(largest)s.") % {"largest": euro(LARGEST_AMOUNT)},
            field="amount",
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise PaymentRefused(_("The amount cannot have more than two decimals."), field="amount")
    if paid_on > timezone.localdate():
        raise PaymentRefused(_("The payment date cannot be in the future."), field="paid_on")


def record_payment(
    case: Case,
    paid_on: datetime.date,
    amount: Decimal,
    channel: str,
    user: User | None,
) -> Payment:
    """Record a payment and allocate it to the case's oldest open installments: each takes
    what it still lacks, a covered one becomes paid, a surplus stays on the payment."""
    with transaction.atomic():
        # Locking the case serialises two payments on it, so both cannot take the same euro.
        case = Case.objects.select_for_update().get(pk=case.pk)
        check_new_payment(case, paid_on, amount)
        payment = Payment.objects.create(
            case=case,
            paid_on=paid_on,
            amount=amount,
            channel=PaymentChannel(channel),
            recorded_by=user if user is not None and user.is_authenticated else None,
        )
        allocations = allocate(payment)
        detail = allocation_detail(allocations, payment.amount)
        PaymentEvent.objects.create(
            payment=payment, user=payment.recorded_by, to_state=PaymentState.REPORTED, detail=detail
        )
        record_event(
            user,
            AuditAction.CREATE,
            payment,
            summary=f"Payment on case {case.pk}: {detail}"[:255],
            after=payment_snapshot(payment, allocations),
        )
    logger.info(
        "Payment %s recorded on case %s: %s allocations", payment.pk, case.pk, len(allocations)
    )
    return payment


def allocate(payment: Payment) -> list[PaymentAllocation]:
    """Spread the payment over the open installments: first those the creditor reported
    unpaid, which are what the agency collects and what the total requested counts, oldest due
    date first; then the others, by due date."""
    unpaid_first = SqlCase(When(status=InstallmentStatus.UNPAID, then=Value(0)), default=Value(1))
    open_installments = (
        Installment.objects.select_for_update()
        .filter(case_id=payment.case_id, amount__gt=F("paid_amount"))
        .exclude(status=InstallmentStatus.PAID)
        .order_by(unpaid_first, "due_date", "number")
    )
    remaining = payment.amount
    allocations: list[PaymentAllocation] = []
    for installment in open_installments:
        if remaining <= ZERO:
            break
        share = min(remaining, installment.amount - installment.paid_amount)
        allocations.append(
            PaymentAllocation(
                payment=payment,
                installment=installment,
                amount=share,
                previous_status=installment.status,
            )
        )
        installment.paid_amount += share
        if installment.paid_amount >= installment.amount:
            installment.status = InstallmentStatus.PAID
        remaining -= share
    PaymentAllocation.objects.bulk_create(allocations)
    Installment.objects.bulk_update(
        [allocation.installment for allocation in allocations], ["paid_amount", "status"]
    )
    return allocations


def allocation_detail(allocations: list[PaymentAllocation], amount: Decimal) -> str:
    """What the payment covered, in Italian like the case's system notes: the history is part
    of the case file the agency shares, whatever the language of the user who read it."""
    parts = []
    for allocation in allocations:
        installment = allocation.installment
        outcome = "saldata" if installment.status == InstallmentStatus.PAID else "parziale"
        parts.append(
            f"rata {installment.number} scad. {installment.due_date:%d/%m/%Y}: "
            f"€ {euro_it(allocation.amount)} ({outcome})"
        )
    surplus = amount - sum((allocation.amount for allocation in allocations), ZERO)
    if surplus > ZERO:
        parts.append(f"non allocato: € {euro_it(surplus)}")
    return "; ".join(parts) or "nessuna rata aperta"


def euro_it(amount: Decimal) -> str:
    """An amount the Italian way without the sign, whatever language is active."""
    with translation.override("it"):
        return euro(amount).removeprefix("€ ")


def advance_payment(
    payment: Payment,
    to_state: str,
    user: User | None,
    on: datetime.date | None = None,
) -> Payment:
    """Move a payment one step forward (reported → collected → commissioned → invoiced),
    stamping the collection or commission date; never back, never a locked payment."""
    on = on or timezone.localdate()
    with transaction.atomic():
        payment = locked_payment(payment)
        from_state = payment.state
        if to_state not in TRANSITIONS.get(from_state, ()):
            raise PaymentRefused(
                _("A payment that is %(from)s cannot become %(to)s.")
                % {
                    "from": PaymentState(from_state).label.lower(),
                    "to": state_label(to_state).lower(),
                },
                field="to_state",
            )
        if on > timezone.localdate():
            raise PaymentRefused(_("The date cannot be in the future."), field="on")
        if on < payment.paid_on:
            raise PaymentRefused(
                _("The date cannot be before the payment date, %(date)s.")
                % {"date": f"{payment.paid_on:%d/%m/%Y}"},
                field="on",
            )
        before = payment_snapshot(payment)
        payment.state = to_state
        changed = ["state"]
        if to_state in DATE_FIELDS:
            setattr(payment, DATE_FIELDS[to_state], on)
            changed.append(DATE_FIELDS[to_state])
        if to_state == PaymentState.COMMISSIONED and payment.commission is None:
            payment.commission_rate, payment.commission = commission_of(payment)
            changed += ["commission_rate", "commission"]
        payment.save(update_fields=changed)
        PaymentEvent.objects.create(
            payment=payment,
            user=user if user is not None and user.is_authenticated else None,
            from_state=from_state,
            to_state=to_state,
            detail=f"{STATE_IN_ITALIAN[to_state]} il {on:%d/%m/%Y}",
        )
        record_event(
            user,
            AuditAction.UPDATE,
            payment,
            summary=f"Payment {from_state} → {to_state}",
            before=before,
            after=payment_snapshot(payment),
        )
    logger.info("Payment %s moved from %s to %s", payment.pk, from_state, to_state)
    return payment


def commission_of(payment: Payment) -> tuple[Decimal, Decimal]:
    """The rate and commission the terms give a payment commissioned by hand, after what the
    case earned before (tiers by amount recovered, the cap per case), as the pre-invoice file
    would compute them."""
    case = Case.objects.select_related("batch").get(pk=payment.case_id)
    calculator = CommissionCalculator.for_creditor(case.creditor_id)
    calculator.prime([case.pk])
    item = PaymentToCommission(
        payment.pk, case.pk, case.batch_id, case.batch.assigned_on, payment.paid_on, payment.amount
    )
    (result,) = calculator.compute([item])
    return result.rate, result.amount


def state_label(state: str) -> str:
    try:
        return str(PaymentState(state).label)
    except ValueError:
        return state


def locked_payment(payment: Payment) -> Payment:
    """The payment re-read under a row lock, refused if its pre-invoice or file locks it."""
    payment = (
        Payment.objects.select_for_update(of=("self",))
        .select_related("pre_invoice", "case")
        .get(pk=payment.pk)
    )
    if payment.is_locked:
        raise PaymentLocked(
            _(
                "This payment is on a confirmed pre-invoice or was commissioned by the "
                "creditor's file: it cannot be changed."
            )
        )
    return payment


def cancel_payment(payment: Payment, user: User | None, reason: str) -> None:
    """Remove a reported or collected payment and give its installments back what it settled.

    The payment row and its history go; the audit event keeps the whole payment, and a system
    note on the case says who cancelled what and why.
    """
    reason = reason.strip()
    if not reason:
        raise PaymentRefused(_("Say why the payment is cancelled."), field="reason")
    with transaction.atomic():
        payment = locked_payment(payment)
        if payment.state not in CANCELLABLE:
            raise PaymentRefused(
                _("A payment that is %(state)s cannot be cancelled: the creditor recognised it.")
                % {"state": PaymentState(payment.state).label.lower()}
            )
        # The case lock orders this with payments being recorded on the same installments.
        Case.objects.select_for_update().only("pk").get(pk=payment.case_id)
        allocations = list(payment.allocations.select_related("installment"))
        snapshot = payment_snapshot(payment, allocations)
        release_installments(payment, allocations)
        payment_id, case = payment.pk, payment.case
        payment.delete()
        Note.objects.create(
            case=case,
            kind=NoteKind.SYSTEM,
            author=user if user is not None and user.is_authenticated else None,
            text=(
                f"Pagamento del {payment.paid_on:%d/%m/%Y} di € {euro_it(payment.amount)} "
                f"annullato da {user.username if user is not None else 'sistema'}: {reason}"
            ),
        )
        payment.pk = payment_id
        record_event(
            user,
            AuditAction.DELETE,
            payment,
            summary=f"Payment cancelled on case {case.pk}: {reason}"[:255],
            before=snapshot,
        )
    logger.info("Payment %s cancelled on case %s", payment_id, case.pk)


def release_installments(payment: Payment, allocations: list[PaymentAllocation]) -> None:
    """Take the payment's share off each installment. An installment left short of its amount
    is no longer paid: it gets back the status it had before the allocation that completed it
    (this payment's, or a later payment's that finished it)."""
    installment_ids = [allocation.installment_id for allocation in allocations]
    installments = {
        installment.pk: installment
        for installment in Installment.objects.select_for_update().filter(pk__in=installment_ids)
    }
    # The last allocation on an installment is the one that completed it, if anything did.
    last_previous: dict[int, str] = {}
    for installment_id, previous in (
        PaymentAllocation.objects.filter(installment_id__in=installment_ids)
        .order_by("installment_id", "id")
        .values_list("installment_id", "previous_status")
    ):
        last_previous[installment_id] = previous
    for allocation in allocations:
        installment = installments[allocation.installment_id]
        installment.paid_amount -= allocation.amount
        if installment.status == InstallmentStatus.PAID:
            installment.status = last_previous[installment.pk]
    Installment.objects.bulk_update(list(installments.values()), ["paid_amount", "status"])


def payment_snapshot(
    payment: Payment, allocations: list[PaymentAllocation] | None = None
) -> dict[str, Any]:
    """The payment as the audit trail keeps it: no personal data, amounts as strings."""
    snapshot: dict[str, Any] = {
        "case": payment.case_id,
        "paid_on": payment.paid_on.isoformat(),
        "amount": str(payment.amount),
        "channel": payment.channel,
        "state": payment.state,
        "collected_on": payment.collected_on.isoformat() if payment.collected_on else None,
        "commissioned_on": (
            payment.commissioned_on.isoformat() if payment.commissioned_on else None
        ),
        "commission": None if payment.commission is None else str(payment.commission),
    }
    if allocations is not None:
        snapshot["allocations"] = [
            {
                "installment": allocation.installment_id,
                "amount": str(allocation.amount),
                "previous_status": allocation.previous_status,
            }
            for allocation in allocations
        ]
    return snapshot
