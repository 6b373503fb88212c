"""What changes commission terms and pre-invoices: saving terms, gathering payments into a draft,
confirming it, and the one change a confirmed pre-invoice still allows, invoicing it.

A confirmed pre-invoice is the creditor's accepted statement: every function here that would
change it or the set of its payments refuses with `PreInvoiceLocked`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import AuditAction, Role, User
from accounts.services import record_event
from billing.commission import CommissionCalculator, PaymentToCommission
from billing.models import CommissionTerms, PreInvoice, PreInvoiceState
from cases.models import Payment, PaymentEvent, PaymentState
from creditors.models import Creditor

logger = logging.getLogger(__name__)

NUMBER_PREFIX = "PF"
NUMBER_ATTEMPTS = 3


class BillingRefused(Exception):
    """An operation the rules do not allow; the message tells the user why."""


class PreInvoiceLocked(BillingRefused):
    def __init__(self, pre_invoice: PreInvoice) -> None:
        super().__init__(
            _("Pre-invoice %(number)s is confirmed: it and its payments can no longer change.")
            % {"number": pre_invoice}
        )


def may_manage_billing(user: User) -> bool:
    """Commission terms and pre-invoices are the back office's and the administrators' work."""
    return user.sees_all_creditors or user.role == Role.BACK_OFFICE


def ensure_editable(pre_invoice: PreInvoice) -> None:
    if pre_invoice.is_locked:
        raise PreInvoiceLocked(pre_invoice)


def _locked_copy(pre_invoice: PreInvoice) -> PreInvoice:
    """The pre-invoice read again under a row lock, so a confirmation running at the same time
    cannot slip between the check and the change."""
    current = PreInvoice.objects.select_for_update().get(pk=pre_invoice.pk)
    ensure_editable(current)
    return current


# Commission terms.


def terms_snapshot(terms: CommissionTerms) -> dict[str, Any]:
    """The terms as the audit trail keeps them, tiers included."""
    return {
        "basis": terms.basis,
        "rate": str(terms.rate),
        "cap": None if terms.cap is None else str(terms.cap),
        "tiers": [[str(t.threshold), str(t.rate)] for t in terms.tiers.order_by("threshold")],
    }


def save_terms(terms: CommissionTerms, tiers: Any, user: User) -> CommissionTerms:
    """Save terms and their tiers (a validated inline formset) together, and audit the change."""
    with transaction.atomic():
        before = terms_snapshot(CommissionTerms.objects.get(pk=terms.pk)) if terms.pk else None
        terms.save()
        tiers.instance = terms
        tiers.save()
        after = terms_snapshot(terms)
        action = AuditAction.CREATE if before is None else AuditAction.UPDATE
        scope = f"batch {terms.batch_id}" if terms.batch_id else "creditor"
        record_event(
            user,
            action,
            terms,
            summary=f"Commission terms of creditor {terms.creditor_id}, {scope}",
            before=before,
            after=after,
        )
    return terms


def delete_batch_terms(terms: CommissionTerms, user: User) -> None:
    """Remove a batch's own terms: the batch falls back on the creditor's."""
    if terms.batch_id is None:
        raise BillingRefused(_("The creditor's own terms cannot be removed, only changed."))
    with transaction.atomic():
        before = terms_snapshot(terms)
        record_event(
            user,
            AuditAction.DELETE,
            terms,
            summary=f"Commission terms of batch {terms.batch_id} removed",
            before=before,
        )
        terms.delete()


# Pre-invoices.


def waiting_payments(creditor: Creditor, start: datetime.date, end: datetime.date) -> Any:
    """The creditor's commissioned payments paid in the period and on no pre-invoice yet."""
    return Payment.objects.filter(
        case__creditor=creditor,
        state=PaymentState.COMMISSIONED,
        pre_invoice__isnull=True,
        paid_on__range=(start, end),
    )


def create_pre_invoice(
    creditor: Creditor, start: datetime.date, end: datetime.date, user: User
) -> PreInvoice:
    """A draft pre-invoice holding the creditor's commissioned payments of the period that no
    pre-invoice holds yet, gathered in one UPDATE; refused when there are none."""
    if end < start:
        raise BillingRefused(_("The period ends before it starts."))
    with transaction.atomic():
        pre_invoice = PreInvoice.objects.create(
            creditor=creditor, period_start=start, period_end=end, created_by=user
        )
        gathered = waiting_payments(creditor, start, end).update(pre_invoice=pre_invoice)
        if not gathered:
            raise BillingRefused(
                _(
                    "No commissioned payment of %(creditor)s paid from %(start)s to %(end)s is "
                    "waiting for a pre-invoice."
                )
                % {
                    "creditor": creditor.code,
                    "start": date_format(start, "SHORT_DATE_FORMAT"),
                    "end": date_format(end, "SHORT_DATE_FORMAT"),
                }
            )
        record_event(
            user,
            AuditAction.CREATE,
            pre_invoice,
            summary=f"Draft pre-invoice of creditor {creditor.pk}: {gathered} payments",
            after={"period": [start.isoformat(), end.isoformat()], "payments": gathered},
        )
    logger.info("Pre-invoice %s drafted with %s payments", pre_invoice.pk, gathered)
    return pre_invoice


def update_pre_invoice(pre_invoice: PreInvoice, user: User, **changes: Any) -> PreInvoice:
    """Change a draft's period or VAT rate; a confirmed pre-invoice refuses."""
    with transaction.atomic():
        current = _locked_copy(pre_invoice)
        before = {name: str(getattr(current, name)) for name in changes}
        for name, value in changes.items():
            setattr(current, name, value)
        current.save(update_fields=[*changes])
        after = {name: str(value) for name, value in changes.items()}
        record_event(
            user,
            AuditAction.UPDATE,
            current,
            summary="Pre-invoice changed",
            before=before,
            after=after,
        )
    return current


def add_payments(pre_invoice: PreInvoice, payment_ids: Iterable[int], user: User) -> int:
    """Put more of the creditor's waiting commissioned payments on a draft."""
    with transaction.atomic():
        current = _locked_copy(pre_invoice)
        ids = list(payment_ids)
        added = Payment.objects.filter(
            pk__in=ids,
            case__creditor_id=current.creditor_id,
            state=PaymentState.COMMISSIONED,
            pre_invoice__isnull=True,
        ).update(pre_invoice=current)
        record_event(
            user,
            AuditAction.UPDATE,
            current,
            summary=f"{added} payments added",
            after={"added": ids},
        )
    return added


def remove_payments(pre_invoice: PreInvoice, payment_ids: Iterable[int], user: User) -> int:
    """Take payments off a draft; they wait, still commissioned, for another pre-invoice."""
    with transaction.atomic():
        current = _locked_copy(pre_invoice)
        ids = list(payment_ids)
        removed = Payment.objects.filter(pk__in=ids, pre_invoice=current).update(pre_invoice=None)
        record_event(
            user,
            AuditAction.UPDATE,
            current,
            summary=f"{removed} payments removed",
            before={"removed": ids},
        )
    return removed


def delete_pre_invoice(pre_invoice: PreInvoice, user: User) -> None:
    """Delete a draft; its payments are released (the foreign key is set to NULL)."""
    with transaction.atomic():
        current = _locked_copy(pre_invoice)
        count = current.payments.update(pre_invoice=None)
        record_event(
            user,
            AuditAction.DELETE,
            current,
            summary=f"Draft pre-invoice deleted, {count} payments released",
            before={"period": [current.period_start.isoformat(), current.period_end.isoformat()]},
        )
        current.delete()


def next_number(year: int) -> str:
    """The year's next pre-invoice number: PF-2026-0001, PF-2026-0002..."""
    prefix = f"{NUMBER_PREFIX}-{year}-"
    numbers = PreInvoice.objects.filter(number__startswith=prefix).values_list("number", flat=True)
    last = max(
        (int(n.removeprefix(prefix)) for n in numbers if n.removeprefix(prefix).isdigit()),
        default=0,
    )
    return f"{prefix}{last + 1:04d}"


def confirm_pre_invoice(pre_invoice: PreInvoice, user: User) -> PreInvoice:
    """Confirm a draft: it gets the year's next number and is locked for good.

    Its payments stay commissioned: they become invoiced when the agency's invoice for the
    pre-invoice is exported. The unique constraint on the number settles two confirmations
    racing for the same one; the loser tries the next number.
    """
    for attempt in range(NUMBER_ATTEMPTS):
        try:
            return _confirm(pre_invoice, user)
        except IntegrityError:
            if attempt == NUMBER_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _confirm(pre_invoice: PreInvoice, user: User) -> PreInvoice:
    with transaction.atomic():
        current = _locked_copy(pre_invoice)
        if not current.payments.exists():
            raise BillingRefused(_("A pre-invoice without payments cannot be confirmed."))
        now = timezone.now()
        current.number = next_number(timezone.localdate(now).year)
        current.state = PreInvoiceState.CONFIRMED
        current.confirmed_at = now
        current.confirmed_by = user
        current.save(update_fields=["number", "state", "confirmed_at", "confirmed_by"])
        record_event(
            user,
            AuditAction.UPDATE,
            current,
            summary=f"Pre-invoice confirmed as {current.number}",
            before={"state": PreInvoiceState.DRAFT},
            after={"state": PreInvoiceState.CONFIRMED, "number": current.number},
        )
    logger.info("Pre-invoice %s confirmed as %s", current.pk, current.number)
    return current


def recalculate_commissions(pre_invoice: PreInvoice, user: User) -> int:
    """Compute the draft's commissions again with the terms as they are now (set or changed
    after the file was loaded); returns how many payments changed. A confirmed pre-invoice
    refuses. Payments on other pre-invoices count as earlier ones, for tiers and the cap."""
    with transaction.atomic():
        pre_invoice = _locked_copy(pre_invoice)
        mine = Payment.objects.filter(pre_invoice=pre_invoice)
        payments = list(mine.select_for_update().select_related("case__batch").order_by("pk"))
        calculator = CommissionCalculator.for_creditor(pre_invoice.creditor_id)
        calculator.prime({p.case_id for p in payments}, excluding=mine)
        results = calculator.compute(
            [
                PaymentToCommission(
                    key=p,
                    case_id=p.case_id,
                    batch_id=p.case.batch_id,
                    assigned_on=p.case.batch.assigned_on,
                    paid_on=p.paid_on,
                    amount=p.amount,
                )
                for p in payments
            ]
        )
        changed = [
            (result.key, result)
            for result in results
            if (result.key.commission_rate, result.key.commission) != (result.rate, result.amount)
        ]
        events = []
        for payment, result in changed:
            events.append(
                PaymentEvent(
                    payment=payment,
                    user=user,
                    from_state=payment.state,
                    to_state=payment.state,
                    detail=(
                        f"Provvigione ricalcolata: {payment.commission_rate}% "
                        f"€ {payment.commission} → {result.rate}% € {result.amount}"
                    ),
                )
            )
            payment.commission_rate, payment.commission = result.rate, result.amount
        Payment.objects.bulk_update(
            [payment for payment, _result in changed], ["commission_rate", "commission"]
        )
        PaymentEvent.objects.bulk_create(events)
        record_event(
            user,
            AuditAction.UPDATE,
            pre_invoice,
            summary=f"Commissions computed again, {len(changed)} payments changed",
            after={"changed": len(changed)},
        )
    return len(changed)


def mark_invoiced(
    pre_invoice: PreInvoice, user: User, invoice_number: str, invoice_date: datetime.date
) -> int:
    """The agency invoiced the pre-invoice: its commissioned payments become invoiced, each with
    an event, in three statements whatever their number.

    The first export keeps the invoice's number and date on the pre-invoice; a later one must
    repeat them (it gives the same invoice again), and a number another pre-invoice's invoice
    of the same year has is refused."""
    if not pre_invoice.is_locked:
        raise BillingRefused(_("Only a confirmed pre-invoice can be invoiced."))
    with transaction.atomic():
        current = PreInvoice.objects.select_for_update().get(pk=pre_invoice.pk)
        if current.invoice_number:
            if (current.invoice_number, current.invoice_date) != (invoice_number, invoice_date):
                raise BillingRefused(
                    _(
                        "This pre-invoice was invoiced with invoice %(number)s of %(date)s: "
                        "export it again with that number and date, not a new invoice."
                    )
                    % {
                        "number": current.invoice_number,
                        "date": date_format(current.invoice_date, "d/m/Y")
                        if current.invoice_date
                        else "",
                    }
                )
        else:
            taken = (
                PreInvoice.objects.filter(
                    invoice_number=invoice_number, invoice_date__year=invoice_date.year
                )
                .exclude(pk=current.pk)
                .first()
            )
            if taken is not None:
                raise BillingRefused(
                    _(
                        "Invoice %(number)s of %(year)s was already issued for pre-invoice "
                        "%(other)s: choose the next number."
                    )
                    % {"number": invoice_number, "year": invoice_date.year, "other": taken}
                )
            current.invoice_number, current.invoice_date = invoice_number, invoice_date
            current.save(update_fields=["invoice_number", "invoice_date"])
            pre_invoice.invoice_number, pre_invoice.invoice_date = invoice_number, invoice_date
        waiting = Payment.objects.select_for_update().filter(
            pre_invoice=pre_invoice, state=PaymentState.COMMISSIONED
        )
        ids = list(waiting.values_list("pk", flat=True))
        Payment.objects.filter(pk__in=ids).update(state=PaymentState.INVOICED)
        detail = f"Invoice {invoice_number} for pre-invoice {pre_invoice.number}"
        PaymentEvent.objects.bulk_create(
            PaymentEvent(
                payment_id=pk,
                user=user,
                from_state=PaymentState.COMMISSIONED,
                to_state=PaymentState.INVOICED,
                detail=detail,
            )
            for pk in ids
        )
        record_event(
            user,
            AuditAction.UPDATE,
            pre_invoice,
            summary=f"Invoice {invoice_number} exported, {len(ids)} payments invoiced",
            after={"invoice_number": invoice_number, "invoiced": len(ids)},
        )
    return len(ids)
