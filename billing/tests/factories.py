"""Factories for commission terms, commissioned payments and pre-invoices.

`CommissionedPaymentFactory(case__creditor=c)` makes a payment already commissioned, as the
pre-invoice import leaves it; `PreInvoiceFactory(creditor=c)` a draft holding none.
"""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

import factory

from billing.models import CommissionBasis, CommissionTerms, CommissionTier, PreInvoice
from cases.models import PaymentState
from cases.tests.factories import CreditorFactory, PaymentFactory


class CommissionTermsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommissionTerms

    creditor = factory.SubFactory(CreditorFactory)
    batch = None
    basis = CommissionBasis.FLAT
    rate = Decimal("10.00")


class CommissionTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommissionTier

    terms = factory.SubFactory(CommissionTermsFactory, basis=CommissionBasis.CASE_AGE)
    threshold = factory.Sequence(lambda n: Decimal(30 * (n + 1)))
    rate = Decimal("15.00")


class CommissionedPaymentFactory(PaymentFactory):
    state = PaymentState.COMMISSIONED
    collected_on = factory.SelfAttribute("paid_on")
    commissioned_on = datetime.date(2025, 7, 1)
    commission_rate = Decimal("10.00")
    commission = factory.LazyAttribute(
        lambda o: (o.amount * o.commission_rate / 100).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    )


class PreInvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PreInvoice

    creditor = factory.SubFactory(CreditorFactory)
    period_start = datetime.date(2025, 6, 1)
    period_end = datetime.date(2025, 6, 30)
