"""The case list: scoping per persona, filters, search, pagination, totals, query count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from cases.models import Case, CaseState, InstallmentStatus, PartyRole
from cases.tests.factories import (
    BatchFactory,
    CaseFactory,
    CasePartyFactory,
    DebtorFactory,
    InstallmentFactory,
    PaymentFactory,
)
from creditors.models import Creditor

pytestmark = pytest.mark.django_db
LIST_URL = reverse("cases:list")


def listed_contracts(client: Client, **params: str) -> list[str]:
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    return [case.contract_number for case in response.context["table"].page.object_list.data]


def test_anonymous_is_sent_to_login(client: Client) -> None:
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={LIST_URL}"


def test_operator_sees_the_cases_of_their_creditor(
    client: Client, operator: User, compass_case: Case, axactor: Creditor
) -> None:
    CaseFactory(creditor=axactor, contract_number="AX-1")
    client.force_login(operator)

    assert listed_contracts(client) == ["0012345678"]


def test_team_leader_sees_the_cases_of_their_creditor(
    client: Client, team_leader: User, compass_case: Case, axactor: Creditor
) -> None:
    CaseFactory(creditor=axactor, contract_number="AX-1")
    client.force_login(team_leader)

    assert listed_contracts(client) == ["0012345678"]


def test_operator_of_another_creditor_sees_nothing_of_compass(
    client: Client, other_operator: User, compass_case: Case
) -> None:
    client.force_login(other_operator)

    response = client.get(LIST_URL)

    assert list(response.context["table"].page.object_list.data) == []
    form = response.context["filter"].form
    assert list(form.fields["creditor"].queryset) == [other_operator.creditors.get()]
    assert list(form.fields["batch"].queryset) == []
    content = response.content.decode()
    assert "COMPASS" not in content
    assert compass_case.batch.code not in content
    assert "0012345678" not in content


def test_administrator_sees_every_creditor(
    client: Client, admin_user: User, compass_case: Case, axactor: Creditor
) -> None:
    CaseFactory(creditor=axactor, contract_number="AX-1")
    client.force_login(admin_user)

    assert sorted(listed_contracts(client)) == ["0012345678", "AX-1"]


def test_list_shows_the_row_and_the_total_requested_in_italian(
    client: Client, operator: User, compass_case: Case
) -> None:
    client.force_login(operator)

    content = client.get(LIST_URL).content.decode()

    assert "€ 305,16" in content
    assert "Mario Rossi" in content
    assert compass_case.batch.code in content
    assert reverse("cases:detail", args=[compass_case.pk]) in content


def test_total_requested_subtracts_payments(
    client: Client, operator: User, compass_case: Case
) -> None:
    PaymentFactory(case=compass_case, amount=Decimal("50.00"))
    client.force_login(operator)

    content = client.get(LIST_URL).content.decode()

    assert "€ 255,16" in content


def test_filter_by_creditor_batch_state_and_attention(
    client: Client, admin_user: User, compass: Creditor, axactor: Creditor
) -> None:
    batch = BatchFactory(creditor=compass, code="LOTTO-7")
    CaseFactory(creditor=compass, batch=batch, contract_number="C-IN-BATCH")
    CaseFactory(creditor=compass, contract_number="C-CLOSED", state=CaseState.CLOSED)
    CaseFactory(creditor=compass, contract_number="C-FLAGGED", needs_attention=True)
    CaseFactory(creditor=axactor, contract_number="AX-1")
    client.force_login(admin_user)

    assert listed_contracts(client, creditor=str(axactor.pk)) == ["AX-1"]
    assert listed_contracts(client, batch=str(batch.pk)) == ["C-IN-BATCH"]
    assert listed_contracts(client, state=CaseState.CLOSED) == ["C-CLOSED"]
    assert listed_contracts(client, needs_attention="true") == ["C-FLAGGED"]


def test_filter_by_assignee(client: Client, operator: User, compass: Creditor) -> None:
    CaseFactory(creditor=compass, contract_number="MINE", assignee=operator)
    CaseFactory(creditor=compass, contract_number="NOBODYS")
    client.force_login(operator)

    response = client.get(LIST_URL)

    assert list(response.context["filter"].form.fields["assignee"].queryset) == [operator]
    assert listed_contracts(client, assignee=str(operator.pk)) == ["MINE"]


def test_filter_with_another_creditors_batch_is_refused(
    client: Client, other_operator: User, compass_case: Case
) -> None:
    client.force_login(other_operator)

    assert listed_contracts(client, batch=str(compass_case.batch_id)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0012345678", ["0012345678"]),
        ("00123", ["0012345678"]),
        ("12345678", []),
        ("rossi", ["0012345678"]),
        ("rssmra80a01h501u", ["0012345678"]),
        ("RSSMRA80A01H501", []),
        ("bianchi", ["0099"]),
    ],
)
def test_search_by_contract_name_or_tax_code(
    client: Client,
    operator: User,
    compass: Creditor,
    compass_case: Case,
    text: str,
    expected: list[str],
) -> None:
    CaseFactory(creditor=compass, contract_number="0099", main_party__debtor__name="Luca Bianchi")
    client.force_login(operator)

    assert listed_contracts(client, q=text) == expected


def test_search_ignores_guarantors(client: Client, operator: User, compass_case: Case) -> None:
    CasePartyFactory(
        case=compass_case, debtor=DebtorFactory(name="Anna Verdi"), role=PartyRole.GUARANTOR
    )
    client.force_login(operator)

    assert listed_contracts(client, q="verdi") == []


def test_list_is_paginated_by_fifty(client: Client, operator: User, compass: Creditor) -> None:
    CaseFactory.create_batch(51, creditor=compass, batch=BatchFactory(creditor=compass))
    client.force_login(operator)

    first = client.get(LIST_URL)
    second = client.get(LIST_URL, {"page": "2"})

    assert len(first.context["table"].page.object_list) == 50
    assert len(second.context["table"].page.object_list) == 1
    assert first.context["table"].paginator.count == 51


@pytest.mark.parametrize(
    ("params", "page", "shown"),
    [
        # The page size is the list's own: none asked in the address loads more or fails.
        ({"per_page": "-1"}, 1, 50),
        ({"per_page": "100000"}, 1, 50),
        ({"per_page": "0", "page": "2"}, 2, 1),
        # A page out of range shows the last one, a page that is no number the first.
        ({"page": "9"}, 2, 1),
        ({"page": "-3"}, 1, 50),
        ({"page": "due"}, 1, 50),
    ],
)
def test_the_address_chooses_the_page_but_not_its_size(
    client: Client, operator: User, compass: Creditor, params: dict[str, str], page: int, shown: int
) -> None:
    CaseFactory.create_batch(51, creditor=compass, batch=BatchFactory(creditor=compass))
    client.force_login(operator)

    response = client.get(LIST_URL, params)

    assert response.status_code == 200
    assert response.context["table"].page.number == page
    assert len(response.context["table"].page.object_list) == shown


def count_list_queries(client: Client, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST_URL, params).status_code == 200
    return len(queries)


def add_cases(creditor: Creditor, user: User, count: int) -> None:
    batch = BatchFactory(creditor=creditor)
    for case in CaseFactory.create_batch(count, creditor=creditor, batch=batch, assignee=user):
        InstallmentFactory(case=case, status=InstallmentStatus.UNPAID)


def test_list_query_count_does_not_grow_with_the_cases(
    client: Client, operator: User, compass: Creditor
) -> None:
    client.force_login(operator)
    add_cases(compass, operator, 3)
    count_list_queries(client)  # warm-up: first-request caches must not skew the comparison
    with_three = count_list_queries(client)

    add_cases(compass, operator, 27)
    with_thirty = count_list_queries(client)

    assert with_three == with_thirty


@pytest.mark.parametrize(
    "sort",
    ["contract_number", "creditor", "-batch", "main_debtor_name", "state", "-total_requested"],
)
def test_every_column_sorts(client: Client, operator: User, compass_case: Case, sort: str) -> None:
    CaseFactory(creditor=compass_case.creditor, contract_number="0099")
    client.force_login(operator)

    assert len(listed_contracts(client, sort=sort)) == 2


def test_sort_by_total_requested(client: Client, operator: User, compass_case: Case) -> None:
    CaseFactory(creditor=compass_case.creditor, contract_number="ZERO")
    client.force_login(operator)

    assert listed_contracts(client, sort="-total_requested") == ["0012345678", "ZERO"]
    assert listed_contracts(client, sort="total_requested") == ["ZERO", "0012345678"]
