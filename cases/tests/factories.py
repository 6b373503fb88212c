"""Factories for creditors, batches, debtors and cases, shared by every app's tests.

`CaseFactory()` makes a Compass-like case with one main debtor; pass
`main_party__debtor=some_debtor` to reuse a debtor, or `main_party=None` for a case without one.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory
from stdnum.it import codicefiscale

from cases.models import (
    Address,
    Case,
    CaseParty,
    Contact,
    ContactKind,
    Debtor,
    Installment,
    InstallmentStatus,
    Note,
    NoteKind,
    PartyRole,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from creditors.models import Batch, Creditor


def tax_code(n: int) -> str:
    """A valid, unique codice fiscale for the n-th debtor: the municipality digits and the birth
    day vary with n, and the check character is computed."""
    day = 1 + (n // 1000) % 28
    body = f"RSSMRA80A{day:02d}H{n % 1000:03d}"
    return body + codicefiscale.calc_check_digit(body)


class CreditorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Creditor
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"CRED{n}")
    name = factory.LazyAttribute(lambda o: f"{o.code.title()} S.p.A.")


class BatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Batch

    creditor = factory.SubFactory(CreditorFactory)
    code = factory.Sequence(lambda n: f"L{n:04d}")
    assigned_on = datetime.date(2025, 3, 1)


class DebtorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Debtor

    name = factory.Sequence(lambda n: f"Debitore {n}")
    tax_code = factory.Sequence(tax_code)
    birth_date = datetime.date(1980, 1, 1)


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    debtor = factory.SubFactory(DebtorFactory)
    street = "Via Roma 1"
    postcode = "20121"
    city = "Milano"
    province = "MI"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    debtor = factory.SubFactory(DebtorFactory)
    kind = ContactKind.MOBILE
    value = factory.Sequence(lambda n: f"+39 333 {n:07d}")


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case
        skip_postgeneration_save = True

    creditor = factory.SubFactory(CreditorFactory)
    batch = factory.SubFactory(BatchFactory, creditor=factory.SelfAttribute("..creditor"))
    contract_number = factory.Sequence(lambda n: f"{1000000 + n}")
    product = "Prestito personale"
    principal = Decimal("1000.00")
    main_party = factory.RelatedFactory(
        "cases.tests.factories.CasePartyFactory", factory_related_name="case"
    )


class CasePartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseParty

    case = factory.SubFactory(CaseFactory, main_party=None)
    debtor = factory.SubFactory(DebtorFactory)
    role = PartyRole.MAIN


class InstallmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Installment

    case = factory.SubFactory(CaseFactory)
    number = factory.Sequence(lambda n: n + 1)
    due_date = datetime.date(2025, 5, 15)
    amount = Decimal("100.00")
    payment_method = PaymentMethod.SDD
    status = InstallmentStatus.DUE


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    case = factory.SubFactory(CaseFactory)
    paid_on = datetime.date(2025, 6, 1)
    amount = Decimal("50.00")


class NoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Note

    case = factory.SubFactory(CaseFactory)
    kind = NoteKind.USER
    text = factory.Sequence(lambda n: f"Nota {n}")


class PaymentAllocationFactory(factory.django.DjangoModelFactory):
    """A payment's share of one installment, as `cases.payments.record_payment` writes it; it
    does not change the installment itself (set `paid_amount` and `status` on it as needed)."""

    class Meta:
        model = PaymentAllocation

    installment = factory.SubFactory(InstallmentFactory)
    payment = factory.SubFactory(PaymentFactory, case=factory.SelfAttribute("..installment.case"))
    amount = factory.LazyAttribute(lambda o: o.installment.amount)
    previous_status = InstallmentStatus.UNPAID
