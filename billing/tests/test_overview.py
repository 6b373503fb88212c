"""The commission overview: sums by month, creditor and batch equal the payments'."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from billing.tests.conftest import commissioned
from cases.models import Payment, PaymentState
from cases.tests.factories import BatchFactory, CaseFactory, PaymentFactory
from creditors.models import Batch, Creditor

pytestmark = pytest.mark.django_db
URL = reverse("billing:overview")


@pytest.fixture
def payments(compass_batch: Batch, axactor: Creditor) -> list[Payment]:
    """Compass payments over May to July 2025 in two batches, in every state, and one Axactor's."""
    other_batch = BatchFactory(creditor=compass_batch.creditor, code="LOTTO-2025-05")
    made = [
        commissioned(
            compass_batch, "A1", "100.10", "10", "10.01", paid_on=datetime.date(2025, 5, 1)
        ),
        commissioned(
            compass_batch, "A2", "50.00", "10", "5.00", paid_on=datetime.date(2025, 5, 31)
        ),
        commissioned(
            compass_batch, "A3", "20.00", "15", "3.00", paid_on=datetime.date(2025, 6, 15)
        ),
        commissioned(other_batch, "B1", "300.00", "8", "24.00", paid_on=datetime.date(2025, 6, 2)),
        commissioned(
            other_batch,
            "B2",
            "40.00",
            "8",
            "3.20",
            paid_on=datetime.date(2025, 7, 9),
            state=PaymentState.INVOICED,
        ),
        PaymentFactory(
            case=CaseFactory(creditor=compass_batch.creditor, batch=compass_batch),
            amount=Decimal("70.00"),
            paid_on=datetime.date(2025, 6, 20),
            state=PaymentState.COLLECTED,
        ),
    ]
    # Reported only: not collected yet, so not counted.
    PaymentFactory(
        case=CaseFactory(creditor=compass_batch.creditor, batch=compass_batch),
        amount=Decimal("999.00"),
        paid_on=datetime.date(2025, 6, 20),
    )
    commissioned(BatchFactory(creditor=axactor), "AX", "500.00", "10", "50.00")
    return made


def expected_sums(payments: list[Payment]) -> dict[tuple[str, str, str], tuple[Decimal, Decimal]]:
    sums: dict[tuple[str, str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for p in payments:
        key = (f"{p.paid_on:%Y-%m}", p.case.creditor.code, p.case.batch.code)
        sums[key][0] += p.amount
        sums[key][1] += p.commission or Decimal(0)
    return {key: (c, m) for key, (c, m) in sums.items()}


def shown_sums(response: object) -> dict[tuple[str, str, str], tuple[Decimal, Decimal]]:
    figures = response.context["figures"]  # type: ignore[attr-defined]
    return {(f"{f.month:%Y-%m}", f.creditor, f.batch): (f.collected, f.commission) for f in figures}


def test_sums_by_month_and_batch_equal_the_payments(
    client: Client, back_office: User, payments: list[Payment]
) -> None:
    client.force_login(back_office)

    response = client.get(URL)

    assert response.status_code == 200
    assert shown_sums(response) == expected_sums(payments)
    assert response.context["total_collected"] == sum(p.amount for p in payments)
    assert response.context["total_commission"] == sum(p.commission or 0 for p in payments)
    chart = response.context["chart"]
    assert chart["months"] == ["05/2025", "06/2025", "07/2025"]
    assert chart["collected"] == ["150.10", "390.00", "40.00"]
    assert chart["commission"] == ["15.01", "27.00", "3.20"]
    assert 'id="commission-chart-data"' in response.content.decode()


def test_filters_by_batch_and_period(
    client: Client, back_office: User, payments: list[Payment], compass_batch: Batch
) -> None:
    client.force_login(back_office)

    response = client.get(
        URL, {"batch": compass_batch.pk, "paid_from": "2025-05-01", "paid_to": "2025-05-31"}
    )

    assert shown_sums(response) == {
        ("2025-05", "COMPASS", "LOTTO-2025-03"): (Decimal("150.10"), Decimal("15.01"))
    }


def test_other_creditors_operator_sees_only_its_own(
    client: Client, other_operator: User, payments: list[Payment]
) -> None:
    client.force_login(other_operator)

    response = client.get(URL)

    assert {key[1] for key in shown_sums(response)} == {"AXACTOR"}
    assert "COMPASS" not in response.content.decode()


def test_query_count_does_not_grow_with_payments(
    client: Client, back_office: User, compass_batch: Batch
) -> None:
    client.force_login(back_office)
    commissioned(compass_batch, "X0", "10.00", "10", "1.00")
    with CaptureQueriesContext(connection) as few:
        client.get(URL)

    for n in range(6):
        commissioned(
            compass_batch, f"X{n + 1}", "10.00", "10", "1.00", paid_on=datetime.date(2025, 1 + n, 3)
        )
    with CaptureQueriesContext(connection) as many:
        client.get(URL)

    assert len(many) == len(few)
