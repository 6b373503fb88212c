"""Undoing a pre-invoice job: payments get their state back, created payments and their
allocations go, installments are as before, the draft pre-invoice goes; refused once the
pre-invoice is confirmed or the payments changed since."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import models
from django.utils import timezone, translation

from accounts.models import User
from billing.models import CommissionTerms, PreInvoice, PreInvoiceState
from billing.services import (
    confirm_pre_invoice,
    create_pre_invoice,
    recalculate_commissions,
    remove_payments,
)
from cases.models import Payment, PaymentAllocation, PaymentEvent, PaymentState
from cases.tests.factories import BatchFactory, PaymentFactory
from creditors.models import Batch, Creditor
from imports.models import ImportJob, JobStatus
from imports.tests.snapshots import EXACT_MODELS
from imports.tests.test_prefattura import make_case, prefattura, run
from imports.undo import UndoRefused, undo_blockers, undo_effects, undo_job

pytestmark = pytest.mark.django_db

Snapshot = dict[str, set[tuple[Any, ...]]]
MODELS: tuple[type[models.Model], ...] = (
    *EXACT_MODELS,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PreInvoice,
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def batch(compass: Creditor) -> Batch:
    return BatchFactory(creditor=compass, code="CMP-9", assigned_on=date(2025, 1, 10))


def snapshot() -> Snapshot:
    """Every row of the tables a pre-invoice job writes, all columns."""
    return {
        model._meta.label: set(
            model.objects.values_list(*(f.attname for f in model._meta.concrete_fields))
        )
        for model in MODELS
    }


ROWS = prefattura(
    "CMP-9;0010000001;;01/03/2025;33,00",
    "CMP-9;0010000001;;09/03/2025;12,00",
    "CMP-9;0010000001;;20/02/2025;100,00",
    "CMP-9;0010000002;;20/03/2025;100,00",
)


def registered_payments_and_cases(compass: Creditor, batch: Batch) -> None:
    """Rows that commission a reported and a collected payment, and create two payments, one
    of them on two installments."""
    CommissionTerms.objects.create(creditor=compass, rate=Decimal("10.00"))
    first = make_case(batch, "0010000001", "100.00", "100.00")
    make_case(batch, "0010000002", "60.00", "40.00", "60.00")
    PaymentFactory(case=first, paid_on=date(2025, 3, 1), amount=Decimal("33.00"))
    PaymentFactory(
        case=first,
        paid_on=date(2025, 3, 9),
        amount=Decimal("12.00"),
        state=PaymentState.COLLECTED,
        collected_on=date(2025, 3, 10),
    )


def applied_job(compass: Creditor, batch: Batch) -> ImportJob:
    registered_payments_and_cases(compass, batch)
    return run(compass, ROWS)


def test_undo_restores_the_database_exactly(compass: Creditor, batch: Batch) -> None:
    registered_payments_and_cases(compass, batch)
    before = snapshot()
    job = run(compass, ROWS)
    assert job.counts["matched"] == 4
    assert snapshot() != before

    assert undo_effects(job) == {
        "payments_restored": 2,
        "payments_deleted": 2,
        "installments": 3,
        "pre_invoices": 1,
    }
    undo_job(job, None)

    assert snapshot() == before
    job.refresh_from_db()
    assert job.status == JobStatus.UNDONE


def test_commissions_computed_again_on_the_draft_are_undone_too(
    compass: Creditor, batch: Batch
) -> None:
    registered_payments_and_cases(compass, batch)
    before = snapshot()
    job = run(compass, ROWS)
    CommissionTerms.objects.filter(creditor=compass).update(rate=Decimal("15.00"))
    draft = PreInvoice.objects.get(job=job)
    assert recalculate_commissions(draft, None) == 4  # type: ignore[arg-type]

    assert undo_blockers(job) == []
    undo_job(job, None)

    CommissionTerms.objects.filter(creditor=compass).update(rate=Decimal("10.00"))
    assert snapshot() == before


def test_undone_rows_can_be_loaded_again(compass: Creditor, batch: Batch) -> None:
    job = applied_job(compass, batch)
    undo_job(job, None)

    again = run(compass, prefattura("CMP-9;0010000001;;20/02/2025;100,00"), "other.csv")

    assert again.counts["matched"] == 1


def test_confirmed_pre_invoice_refuses_the_undo(compass: Creditor, batch: Batch) -> None:
    job = applied_job(compass, batch)
    PreInvoice.objects.filter(job=job).update(state=PreInvoiceState.CONFIRMED, number="2025/7")
    before = snapshot()

    with translation.override("en"):
        reasons = undo_blockers(job)
        with pytest.raises(UndoRefused):
            undo_job(job, None)

    assert reasons == ["The pre-invoice 2025/7 made by this job was confirmed: it cannot change."]
    assert snapshot() == before


def test_payment_changed_later_refuses_the_undo(compass: Creditor, batch: Batch) -> None:
    job = applied_job(compass, batch)
    payment = Payment.objects.get(paid_on=date(2025, 3, 1))
    PaymentEvent.objects.create(
        payment=payment, from_state=PaymentState.COMMISSIONED, to_state=PaymentState.INVOICED
    )
    PaymentEvent.objects.filter(payment=payment, job__isnull=True).update(
        at=timezone.now() + timedelta(minutes=1)
    )
    Payment.objects.filter(pk=payment.pk).update(state=PaymentState.INVOICED)

    with translation.override("en"):
        reasons = undo_blockers(job)

    assert reasons == ["Payments of contract(s) 0010000001 were changed after this job."]


def test_installment_paid_later_refuses_the_undo(compass: Creditor, batch: Batch) -> None:
    job = applied_job(compass, batch)
    allocated = PaymentAllocation.objects.filter(payment__created_job=job).first()
    assert allocated is not None
    later = PaymentFactory(case=allocated.installment.case, amount=Decimal("1.00"))
    PaymentAllocation.objects.create(
        payment=later,
        installment=allocated.installment,
        amount=Decimal("1.00"),
        previous_status=allocated.installment.status,
    )

    with translation.override("en"):
        reasons = undo_blockers(job)

    assert len(reasons) == 1
    assert reasons[0].startswith("Installments of contract(s) 0010000001")
    assert reasons[0].endswith("were paid or changed after this job.")


def test_payments_moved_to_a_confirmed_pre_invoice_refuse_the_undo(
    compass: Creditor, batch: Batch, back_office: User
) -> None:
    """The job's payments taken off its draft and confirmed on another pre-invoice are the
    creditor's record: undoing the job would delete or reopen them under that pre-invoice."""
    job = applied_job(compass, batch)
    draft = PreInvoice.objects.get(job=job)
    ids = list(draft.payments.values_list("pk", flat=True))
    remove_payments(draft, ids, back_office)
    other = create_pre_invoice(compass, date(2025, 1, 1), date(2025, 12, 31), back_office)
    confirmed = confirm_pre_invoice(other, back_office)
    before = snapshot()

    with translation.override("en"):
        reasons = undo_blockers(job)
        with pytest.raises(UndoRefused):
            undo_job(job, None)

    assert reasons == [
        f"Payments of contract(s) 0010000001, 0010000002 are on pre-invoice {confirmed}, "
        "made after this job."
    ]
    assert snapshot() == before
    assert confirmed.payments.count() == len(ids)
