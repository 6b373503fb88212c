"""A pre-invoice's life: gathered as a draft, confirmed with a number, then locked for good."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditAction, AuditEvent, User
from billing.models import PreInvoice, PreInvoiceState
from billing.services import (
    BillingRefused,
    PreInvoiceLocked,
    add_payments,
    confirm_pre_invoice,
    create_pre_invoice,
    delete_pre_invoice,
    remove_payments,
    update_pre_invoice,
)
from billing.tests.conftest import commissioned
from billing.tests.factories import PreInvoiceFactory
from cases.models import Payment, PaymentState
from cases.tests.factories import BatchFactory, PaymentFactory
from creditors.models import Batch, Creditor

pytestmark = pytest.mark.django_db


def detail_url(pre_invoice: PreInvoice) -> str:
    return reverse("billing:pre-invoice-detail", args=[pre_invoice.pk])


JUNE_1, JUNE_30 = datetime.date(2025, 6, 1), datetime.date(2025, 6, 30)


def test_new_pre_invoice_gathers_the_waiting_commissioned_payments_of_the_period(
    compass_batch: Batch, axactor: Creditor, back_office: User
) -> None:
    june = commissioned(compass_batch, "A", "100.00", "10.00", "10.00", paid_on=JUNE_30)
    commissioned(compass_batch, "B", "100.00", "10.00", "10.00", paid_on=datetime.date(2025, 7, 1))
    on_another = commissioned(compass_batch, "C", "100.00", "10.00", "10.00", paid_on=JUNE_1)
    earlier = PreInvoiceFactory(creditor=compass_batch.creditor)
    Payment.objects.filter(pk=on_another.pk).update(pre_invoice=earlier)
    PaymentFactory(case__creditor=compass_batch.creditor, paid_on=JUNE_1)  # only reported
    ax_batch = BatchFactory(creditor=axactor)
    commissioned(ax_batch, "AX", "100.00", "10.00", "10.00", paid_on=JUNE_1)

    pre_invoice = create_pre_invoice(compass_batch.creditor, JUNE_1, JUNE_30, back_office)

    assert list(pre_invoice.payments.all()) == [june]
    assert pre_invoice.state == PreInvoiceState.DRAFT
    assert pre_invoice.created_by == back_office
    event = AuditEvent.objects.get(object_type="billing.preinvoice", action=AuditAction.CREATE)
    assert event.after == {"period": ["2025-06-01", "2025-06-30"], "payments": 1}


def test_new_pre_invoice_with_nothing_to_gather_is_refused_and_not_kept(
    compass_batch: Batch, back_office: User
) -> None:
    with translation.override("en"), pytest.raises(BillingRefused) as refused:
        create_pre_invoice(compass_batch.creditor, JUNE_1, JUNE_30, back_office)

    assert str(refused.value) == (
        "No commissioned payment of COMPASS paid from 06/01/2025 to 06/30/2025 is waiting for "
        "a pre-invoice."
    )
    assert not PreInvoice.objects.exists()


def test_new_pre_invoice_page(english: Client, back_office: User, compass_batch: Batch) -> None:
    commissioned(compass_batch, "A", "100.00", "10.00", "10.00", paid_on=JUNE_1)
    english.force_login(back_office)
    data = {"creditor": compass_batch.creditor_id, "period_start": "2025-06-01"}

    refused = english.post(
        reverse("billing:pre-invoice-create"), {**data, "period_end": "2025-05-01"}
    )
    created = english.post(
        reverse("billing:pre-invoice-create"), {**data, "period_end": "2025-06-30"}
    )

    assert refused.status_code == 400
    assert refused.context["form"].errors == {"period_end": ["The period ends before it starts."]}
    pre_invoice = PreInvoice.objects.get()
    assert created["Location"] == reverse("billing:pre-invoice-detail", args=[pre_invoice.pk])
    assert pre_invoice.payments.count() == 1


def test_operator_may_not_create_and_other_creditors_are_not_offered(
    client: Client, operator: User, back_office: User, axactor: Creditor
) -> None:
    client.force_login(operator)
    assert client.get(reverse("billing:pre-invoice-create")).status_code == 403

    client.force_login(back_office)
    form = client.get(reverse("billing:pre-invoice-create")).context["form"]
    assert axactor not in form.fields["creditor"].queryset


@time_machine.travel(datetime.datetime(2026, 1, 15, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_confirmation_numbers_per_year_and_keeps_payments_commissioned(
    compass_pre_invoice: PreInvoice, back_office: User
) -> None:
    PreInvoiceFactory(creditor=compass_pre_invoice.creditor, number="PF-2025-0007")
    PreInvoiceFactory(creditor=compass_pre_invoice.creditor, number="PF-2026-0001")

    confirmed = confirm_pre_invoice(compass_pre_invoice, back_office)

    confirmed.refresh_from_db()
    assert confirmed.number == "PF-2026-0002"
    assert confirmed.state == PreInvoiceState.CONFIRMED
    assert confirmed.is_locked
    assert confirmed.confirmed_by == back_office
    assert confirmed.confirmed_at == datetime.datetime(2026, 1, 15, 10, 0, tzinfo=datetime.UTC)
    assert set(confirmed.payments.values_list("state", flat=True)) == {PaymentState.COMMISSIONED}
    event = AuditEvent.objects.get(summary="Pre-invoice confirmed as PF-2026-0002")
    assert event.user == back_office


def test_empty_draft_cannot_be_confirmed(compass: Creditor, back_office: User) -> None:
    draft = PreInvoiceFactory(creditor=compass)

    with translation.override("en"), pytest.raises(BillingRefused) as refused:
        confirm_pre_invoice(draft, back_office)

    assert str(refused.value) == "A pre-invoice without payments cannot be confirmed."


EDITS: dict[str, Callable[[PreInvoice, User], Any]] = {
    "confirm again": confirm_pre_invoice,
    "change the period": lambda p, u: update_pre_invoice(p, u, period_end=JUNE_1),
    "change the VAT rate": lambda p, u: update_pre_invoice(p, u, vat_rate=Decimal("10.00")),
    "add a payment": lambda p, u: add_payments(
        p, list(Payment.objects.values_list("pk", flat=True)), u
    ),
    "remove a payment": lambda p, u: remove_payments(p, [p.payments.first().pk], u),
    "delete": delete_pre_invoice,
}


@pytest.mark.parametrize("edit", EDITS)
def test_every_change_to_a_confirmed_pre_invoice_is_refused(
    compass_pre_invoice: PreInvoice, compass_batch: Batch, back_office: User, edit: str
) -> None:
    waiting = commissioned(compass_batch, "WAIT", "10.00", "10.00", "1.00", paid_on=JUNE_1)
    confirm_pre_invoice(compass_pre_invoice, back_office)
    before = PreInvoice.objects.values().get(pk=compass_pre_invoice.pk)
    lines = set(compass_pre_invoice.payments.values_list("pk", "amount", "commission", "state"))

    with translation.override("en"), pytest.raises(PreInvoiceLocked) as refused:
        EDITS[edit](compass_pre_invoice, back_office)

    number = before["number"]
    assert str(refused.value) == (
        f"Pre-invoice {number} is confirmed: it and its payments can no longer change."
    )
    assert PreInvoice.objects.values().get(pk=compass_pre_invoice.pk) == before
    assert (
        set(compass_pre_invoice.payments.values_list("pk", "amount", "commission", "state"))
        == lines
    )
    waiting.refresh_from_db()
    assert waiting.pre_invoice is None


def test_a_draft_can_change(
    compass_pre_invoice: PreInvoice, compass_batch: Batch, back_office: User
) -> None:
    waiting = commissioned(compass_batch, "WAIT", "10.00", "10.00", "1.00", paid_on=JUNE_1)
    first = compass_pre_invoice.payments.order_by("pk").first()
    assert first is not None

    assert add_payments(compass_pre_invoice, [waiting.pk], back_office) == 1
    assert remove_payments(compass_pre_invoice, [first.pk], back_office) == 1
    update_pre_invoice(compass_pre_invoice, back_office, vat_rate=Decimal("10.00"))

    compass_pre_invoice.refresh_from_db()
    assert compass_pre_invoice.vat_rate == Decimal("10.00")
    assert waiting.pk in set(compass_pre_invoice.payments.values_list("pk", flat=True))
    first.refresh_from_db()
    assert first.pre_invoice is None
    assert first.state == PaymentState.COMMISSIONED

    delete_pre_invoice(compass_pre_invoice, back_office)
    assert not PreInvoice.objects.exists()
    assert Payment.objects.filter(pre_invoice__isnull=False).count() == 0


def test_back_office_takes_a_payment_off_a_draft_from_its_page(
    english: Client, back_office: User, operator: User, compass_pre_invoice: PreInvoice
) -> None:
    payment = compass_pre_invoice.payments.order_by("pk").first()
    assert payment is not None
    url = reverse("billing:pre-invoice-remove-payments", args=[compass_pre_invoice.pk])

    english.force_login(operator)
    assert url not in english.get(detail_url(compass_pre_invoice)).content.decode()
    english.force_login(back_office)
    page = english.get(detail_url(compass_pre_invoice)).content.decode()
    response = english.post(url, {"payment": [payment.pk]}, follow=True)

    assert url in page
    assert "1 payment removed." in response.content.decode()
    assert compass_pre_invoice.payments.count() == 2
    payment.refresh_from_db()
    assert (payment.pre_invoice, payment.state) == (None, PaymentState.COMMISSIONED)


def test_confirm_page_for_back_office_only(
    english: Client, operator: User, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    url = reverse("billing:pre-invoice-confirm", args=[compass_pre_invoice.pk])

    english.force_login(operator)
    assert english.post(url).status_code == 403
    compass_pre_invoice.refresh_from_db()
    assert compass_pre_invoice.state == PreInvoiceState.DRAFT

    english.force_login(back_office)
    response = english.post(url, follow=True)
    compass_pre_invoice.refresh_from_db()
    assert compass_pre_invoice.state == PreInvoiceState.CONFIRMED
    assert f"Pre-invoice confirmed as {compass_pre_invoice.number}." in response.content.decode()


def test_locked_pre_invoice_pages_refuse_with_a_message(
    english: Client, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    confirm_pre_invoice(compass_pre_invoice, back_office)
    english.force_login(back_office)
    payment = compass_pre_invoice.payments.first()
    assert payment is not None

    for name, data in (
        ("pre-invoice-delete", {}),
        ("pre-invoice-remove-payments", {"payment": [payment.pk]}),
    ):
        url = reverse(f"billing:{name}", args=[compass_pre_invoice.pk])
        response = english.post(url, data, follow=True)
        assert "can no longer change" in response.content.decode(), name

    assert compass_pre_invoice.payments.count() == 3


def test_other_creditors_operator_cannot_act_on_compass(
    client: Client, other_operator: User, compass_pre_invoice: PreInvoice
) -> None:
    client.force_login(other_operator)

    for name in ("pre-invoice-confirm", "pre-invoice-delete", "pre-invoice-remove-payments"):
        response = client.post(reverse(f"billing:{name}", args=[compass_pre_invoice.pk]))
        assert response.status_code == 404, name
    assert PreInvoice.objects.get().state == PreInvoiceState.DRAFT
