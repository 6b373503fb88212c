"""A payment is money received: neither its case nor an installment it settled can be deleted
while it exists, so a confirmed pre-invoice never loses a line, even through the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing.documents import pre_invoice_totals
from billing.models import PreInvoice
from billing.services import confirm_pre_invoice
from cases.models import Case, Installment, Payment
from cases.tests.factories import InstallmentFactory, PaymentAllocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(compass_pre_invoice: PreInvoice, back_office: User) -> PreInvoice:
    return confirm_pre_invoice(compass_pre_invoice, back_office)


def test_the_admin_cannot_delete_a_case_with_payments(
    client: Client, confirmed: PreInvoice
) -> None:
    client.force_login(User.objects.create_superuser("root", password="incasso-test-pw"))
    case = Case.objects.get(contract_number="0099")
    url = reverse("admin:cases_case_delete", args=[case.pk])

    response = client.post(url, {"post": "yes"})

    assert response.status_code == 200
    # The admin's "cannot delete" page, naming the payment that keeps the case.
    assert [str(p).split(": ", 1)[1] for p in response.context["protected"]] == [
        str(Payment.objects.get(case=case))
    ]
    assert Case.objects.filter(pk=case.pk).exists()
    assert confirmed.payments.count() == 3
    assert pre_invoice_totals(confirmed).commission == Decimal("135.75")


def test_no_code_deletes_a_case_or_a_settled_installment_under_a_payment(
    confirmed: PreInvoice,
) -> None:
    payment = Payment.objects.get(case__contract_number="0099")
    installment = InstallmentFactory(case=payment.case, number=1, amount=payment.amount)
    PaymentAllocationFactory(payment=payment, installment=installment, amount=payment.amount)

    with pytest.raises(ProtectedError):
        payment.case.delete()
    with pytest.raises(ProtectedError):
        Installment.objects.filter(pk=installment.pk).delete()

    assert confirmed.payments.count() == 3
