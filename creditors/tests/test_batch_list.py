"""The batch list: scoping per persona, figures, filters, sorting and query count."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from cases.models import Payment, PaymentState
from cases.tests.factories import BatchFactory, CaseFactory, PaymentFactory
from creditors.models import Batch, BatchKind, BatchState, Creditor

pytestmark = pytest.mark.django_db
LIST_URL = reverse("creditors:batch-list")


def listed_batches(client: Client, **params: str) -> list[str]:
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    return [batch.code for batch in response.context["table"].page.object_list.data]


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={LIST_URL}"


@pytest.mark.parametrize("persona", ["operator", "team_leader", "back_office"])
def test_staff_of_a_creditor_see_its_batches_only(
    client: Client,
    compass_batch: Batch,
    axactor: Creditor,
    persona: str,
    request: pytest.FixtureRequest,
) -> None:
    BatchFactory(creditor=axactor, code="AX-LOTTO")
    client.force_login(request.getfixturevalue(persona))

    codes = listed_batches(client)

    # The batch of the case "OTHER" has a factory-made code.
    assert "LOTTO-2025-03" in codes
    assert "AX-LOTTO" not in codes


def test_operator_of_another_creditor_sees_nothing_of_compass(
    client: Client, other_operator: User, compass_batch: Batch, axactor: Creditor
) -> None:
    BatchFactory(creditor=axactor, code="AX-LOTTO")
    client.force_login(other_operator)

    response = client.get(LIST_URL)

    assert [batch.code for batch in response.context["table"].page.object_list.data] == ["AX-LOTTO"]
    assert list(response.context["filter"].form.fields["creditor"].queryset) == [axactor]
    content = response.content.decode()
    assert "COMPASS" not in content
    assert "LOTTO-2025-03" not in content


def test_filtering_by_another_creditor_shows_nothing(
    client: Client, other_operator: User, compass_batch: Batch
) -> None:
    client.force_login(other_operator)

    response = client.get(LIST_URL, {"creditor": str(compass_batch.creditor_id)})

    assert list(response.context["table"].page.object_list.data) == []
    assert "creditor" in response.context["filter"].form.errors


def test_administrator_sees_every_creditor(
    client: Client, admin_user: User, compass_batch: Batch, axactor: Creditor
) -> None:
    BatchFactory(creditor=axactor, code="AX-LOTTO")
    client.force_login(admin_user)

    assert {"LOTTO-2025-03", "AX-LOTTO"} <= set(listed_batches(client))


def test_row_shows_the_batch_figures(english: Client, operator: User, compass_batch: Batch) -> None:
    english.force_login(operator)

    response = english.get(LIST_URL, {"code": "LOTTO-2025"})

    [batch] = response.context["table"].page.object_list.data
    assert (batch.case_count, batch.assigned, batch.collected) == (
        3,
        Decimal("2000.16"),
        Decimal("180.50"),
    )
    cells = [
        str(cell) for cell in response.context["table"].page.object_list[0]
    ]  # rendered values, in column order
    assert cells[0] == "COMPASS"
    assert "LOTTO-2025-03" in cells[1]
    assert reverse("creditors:batch-detail", args=[compass_batch.pk]) in cells[1]
    assert cells[2] == "Phone collection"
    assert "Open" in cells[3]
    assert cells[4:] == ["01/03/2025", "—", "3", "€ 2,000.16", "€ 180.50", "9.0%"]


def test_figures_are_in_italian_format_by_default(
    client: Client, operator: User, compass_batch: Batch
) -> None:
    client.force_login(operator)

    content = client.get(LIST_URL).content.decode()

    assert "€ 2.000,16" in content
    assert "€ 180,50" in content
    assert "9,0%" in content


def test_a_batch_with_nothing_assigned_has_no_recovery_rate(
    english: Client, operator: User, compass: Creditor
) -> None:
    BatchFactory(creditor=compass, code="EMPTY")
    english.force_login(operator)

    response = english.get(LIST_URL)

    row = response.context["table"].page.object_list[0]
    assert [str(cell) for cell in row][6:] == ["0", "€ 0.00", "€ 0.00", "—"]


def test_returned_batch_shows_its_return_date(
    english: Client, operator: User, compass: Creditor
) -> None:
    BatchFactory(
        creditor=compass,
        code="RETURNED",
        state=BatchState.RETURNED,
        returned_on=datetime.date(2025, 9, 30),
    )
    english.force_login(operator)

    row = english.get(LIST_URL).context["table"].page.object_list[0]

    assert [str(cell) for cell in row][4:6] == ["01/03/2025", "30/09/2025"]


def test_filter_by_creditor_state_kind_and_code(
    client: Client, admin_user: User, compass: Creditor, axactor: Creditor
) -> None:
    BatchFactory(creditor=compass, code="C-OPEN")
    BatchFactory(creditor=compass, code="C-RETURNED", state=BatchState.RETURNED)
    BatchFactory(creditor=compass, code="C-LEGAL", kind=BatchKind.LEGAL)
    BatchFactory(creditor=axactor, code="AX-1")
    client.force_login(admin_user)

    assert listed_batches(client, creditor=str(axactor.pk)) == ["AX-1"]
    assert listed_batches(client, state=BatchState.RETURNED) == ["C-RETURNED"]
    assert listed_batches(client, kind=BatchKind.LEGAL) == ["C-LEGAL"]
    assert listed_batches(client, code="c-ret") == ["C-RETURNED"]


@pytest.mark.parametrize(
    "sort",
    [
        "creditor",
        "code",
        "kind",
        "state",
        "-assigned_on",
        "returned_on",
        "case_count",
        "-assigned",
        "collected",
        "recovery_rate",
        "-recovery_rate",
    ],
)
def test_every_column_sorts(
    client: Client, operator: User, compass_batch: Batch, sort: str
) -> None:
    client.force_login(operator)

    assert len(listed_batches(client, sort=sort)) == 2


def add_batch(creditor: Creditor, code: str, assigned: str, collected: str) -> None:
    batch = BatchFactory(creditor=creditor, code=code)
    case = CaseFactory(creditor=creditor, batch=batch, assigned_total=Decimal(assigned))
    PaymentFactory(case=case, amount=Decimal(collected), state=PaymentState.COLLECTED)


def test_a_payment_only_reported_is_not_collected(
    client: Client, operator: User, compass: Creditor
) -> None:
    """Collected is money the agency has seen, as in the commission overview: a payment the
    debtor reported counts once it is confirmed collected."""
    add_batch(compass, "REPORTED", "1000.00", "100.00")
    payment = Payment.objects.get(case__batch__code="REPORTED")
    payment.state = PaymentState.REPORTED
    payment.save()
    client.force_login(operator)

    response = client.get(LIST_URL)

    batch = next(row.record for row in response.context["table"].rows)
    assert (batch.assigned, batch.collected) == (Decimal("1000.00"), Decimal("0.00"))


def test_sort_by_recovery_rate_puts_batches_without_a_rate_last(
    client: Client, operator: User, compass: Creditor
) -> None:
    add_batch(compass, "TEN", "1000.00", "100.00")
    add_batch(compass, "FIFTY", "200.00", "100.00")
    add_batch(compass, "ONE", "1000.00", "10.00")
    BatchFactory(creditor=compass, code="NONE")
    client.force_login(operator)

    assert listed_batches(client, sort="recovery_rate") == ["ONE", "TEN", "FIFTY", "NONE"]
    assert listed_batches(client, sort="-recovery_rate") == ["FIFTY", "TEN", "ONE", "NONE"]


def test_sort_by_recovery_rate_tells_small_rates_apart(
    client: Client, operator: User, compass: Creditor
) -> None:
    # Whole amounts: a database dividing them as integers would find both rates zero.
    add_batch(compass, "TWO-THIRDS", "300.00", "2.00")
    add_batch(compass, "ONE-THIRD", "300.00", "1.00")
    client.force_login(operator)

    assert listed_batches(client, sort="recovery_rate") == ["ONE-THIRD", "TWO-THIRDS"]


def count_list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL)
    assert response.status_code == 200
    return len(queries)


def add_batches(creditor: Creditor, count: int) -> None:
    for batch in BatchFactory.create_batch(count, creditor=creditor):
        for case in CaseFactory.create_batch(2, creditor=creditor, batch=batch):
            PaymentFactory(case=case, state=PaymentState.COLLECTED)


def test_list_query_count_does_not_grow_with_the_batches(
    client: Client, operator: User, compass: Creditor
) -> None:
    client.force_login(operator)
    add_batches(compass, 2)
    count_list_queries(client)  # warm-up: first-request caches must not skew the comparison
    with_two = count_list_queries(client)

    add_batches(compass, 18)
    with_twenty = count_list_queries(client)

    assert with_two == with_twenty
