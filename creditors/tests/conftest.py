"""A Compass batch whose figures are known to the cent, shared by the batch tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client

from cases.models import Case, CaseState, InstallmentStatus, Note, PaymentState
from cases.tests.factories import (
    BatchFactory,
    CaseFactory,
    InstallmentFactory,
    NoteFactory,
    PaymentFactory,
)
from creditors.models import Batch, Creditor

UTC = datetime.UTC


def add_note(case: Case, at: datetime.datetime) -> Note:
    note = NoteFactory(case=case)
    # created_at is set on insert; the report reads it, so tests set it afterwards.
    Note.objects.filter(pk=note.pk).update(created_at=at)
    return note


@pytest.fixture
def compass_batch(compass: Creditor) -> Batch:
    """Three cases, assigned 2,000.16 in all, 180.50 collected (a recovery rate of 9.0%):

    - 0012345678, Mario Rossi: assigned 1,349.66 (the creditor's total); unpaid 100.00 + 5.16
      fees and 200.00, one more due; 50.00 paid; total requested 255.16; last note on
      11/06/2025 (late on 10/06 in UTC, already the 11th in Rome);
    - 0099, Luca Bianchi, closed: no total from the creditor, so principal 500.00 + interest
      20.00 + fees 10.50 = 530.50; one unpaid 150.00, other charges 15.00, 100.00 + 30.50
      paid; total requested 34.50;
    - 0077, no debtor, no installments: assigned and requested 120.00, nothing paid, no notes.
    """
    batch = BatchFactory(
        creditor=compass, code="LOTTO-2025-03", assigned_on=datetime.date(2025, 3, 1)
    )
    rossi = CaseFactory(
        creditor=compass,
        batch=batch,
        contract_number="0012345678",
        creditor_reference="REF-1",
        principal=Decimal("1234.56"),
        interest=Decimal("100.10"),
        charges=Decimal("15.00"),
        assigned_total=Decimal("1349.66"),
        main_party__debtor__name="Mario Rossi",
        main_party__debtor__tax_code="RSSMRA80A01H501U",
    )
    InstallmentFactory(
        case=rossi, amount=Decimal("100.00"), fees=Decimal("5.16"), status=InstallmentStatus.UNPAID
    )
    InstallmentFactory(case=rossi, amount=Decimal("200.00"), status=InstallmentStatus.UNPAID)
    InstallmentFactory(case=rossi, amount=Decimal("300.00"), status=InstallmentStatus.DUE)
    PaymentFactory(case=rossi, amount=Decimal("50.00"), state=PaymentState.COLLECTED)
    add_note(rossi, datetime.datetime(2025, 5, 2, 9, 0, tzinfo=UTC))
    add_note(rossi, datetime.datetime(2025, 6, 10, 23, 30, tzinfo=UTC))

    bianchi = CaseFactory(
        creditor=compass,
        batch=batch,
        contract_number="0099",
        principal=Decimal("500.00"),
        interest=Decimal("20.00"),
        charges=Decimal("10.50"),
        other_charges=Decimal("15.00"),
        state=CaseState.CLOSED,
        main_party__debtor__name="Luca Bianchi",
        main_party__debtor__tax_code="BNCLCU85M01F205P",
    )
    InstallmentFactory(case=bianchi, amount=Decimal("150.00"), status=InstallmentStatus.UNPAID)
    PaymentFactory(case=bianchi, amount=Decimal("100.00"), state=PaymentState.COMMISSIONED)
    PaymentFactory(case=bianchi, amount=Decimal("30.50"), state=PaymentState.INVOICED)

    CaseFactory(
        creditor=compass,
        batch=batch,
        contract_number="0077",
        principal=Decimal("120.00"),
        assigned_total=Decimal("120.00"),
        main_party=None,
    )

    # Another batch of the same creditor, whose money must not count in this one.
    PaymentFactory(
        case=CaseFactory(creditor=compass, contract_number="OTHER"),
        amount=Decimal("999.00"),
        state=PaymentState.COLLECTED,
    )
    return batch


@pytest.fixture
def english(client: Client) -> Client:
    """The client, asking for the English interface, so messages read as in the source."""
    client.cookies["django_language"] = "en"
    return client
