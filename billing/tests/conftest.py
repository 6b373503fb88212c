"""A Compass pre-invoice whose figures are known to the cent, shared by the billing tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import PreInvoice
from billing.tests.factories import CommissionedPaymentFactory, PreInvoiceFactory
from cases.models import Payment
from cases.tests.factories import BatchFactory, CaseFactory
from creditors.models import Batch, Creditor

COMPASS_VAT = "IT04567890126"


@pytest.fixture
def compass_batch(compass: Creditor) -> Batch:
    Creditor.objects.filter(pk=compass.pk).update(vat_number=COMPASS_VAT)
    compass.vat_number = COMPASS_VAT
    return BatchFactory(creditor=compass, code="LOTTO-2025-03")


def commissioned(
    batch: Batch, contract: str, amount: str, rate: str, commission: str, **kwargs: object
) -> Payment:
    case = CaseFactory(creditor=batch.creditor, batch=batch, contract_number=contract)
    return CommissionedPaymentFactory(
        case=case,
        amount=Decimal(amount),
        commission_rate=Decimal(rate),
        commission=Decimal(commission),
        **kwargs,
    )


@pytest.fixture
def compass_pre_invoice(compass_batch: Batch) -> PreInvoice:
    """A Compass draft for June 2025 with three lines:

    - 0012345678: 1,234.56 at 10% = 123.46 (123.456 half-up);
    - 0099: 98.32 at 12.5% = 12.29;
    - 0077: 50.00 at 0% = 0.00.

    Collected 1,382.88; commission 135.75; VAT 22% on it 29.865, half-up 29.87 (half-even would
    give 29.86); total 165.62.
    """
    pre_invoice = PreInvoiceFactory(creditor=compass_batch.creditor)
    june = datetime.date(2025, 6, 5)
    for contract, amount, rate, commission in (
        ("0012345678", "1234.56", "10.00", "123.46"),
        ("0099", "98.32", "12.50", "12.29"),
        ("0077", "50.00", "0.00", "0.00"),
    ):
        commissioned(compass_batch, contract, amount, rate, commission, paid_on=june)
    Payment.objects.filter(case__batch=compass_batch).update(pre_invoice=pre_invoice)
    return pre_invoice


@pytest.fixture
def english(client: Client) -> Client:
    """The client, asking for the English interface, so messages read as in the source."""
    client.cookies["django_language"] = "en"
    return client
