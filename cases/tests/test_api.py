"""The REST API: the same scoping, filters and totals as the pages."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, User
from cases.models import Case, CaseState, InstallmentStatus, NoteKind
from cases.tests.factories import BatchFactory, CaseFactory, InstallmentFactory, NoteFactory
from creditors.models import Creditor

pytestmark = pytest.mark.django_db
CASES_URL = reverse("api:case-list")
CREDITORS_URL = reverse("api:creditor-list")


def case_url(case: Case) -> str:
    return reverse("api:case-detail", args=[case.pk])


def contracts(client: Client, **params: str) -> list[str]:
    response = client.get(CASES_URL, params)
    assert response.status_code == 200
    return [row["contract_number"] for row in response.json()["results"]]


@pytest.mark.parametrize("url", [CASES_URL, CREDITORS_URL])
def test_anonymous_is_refused(client: Client, url: str) -> None:
    assert client.get(url).status_code == 403


def test_anonymous_is_refused_a_case(client: Client, compass_case: Case) -> None:
    assert client.get(case_url(compass_case)).status_code == 403


def test_list_rows(client: Client, operator: User, compass_case: Case) -> None:
    client.force_login(operator)

    body = client.get(CASES_URL).json()

    assert body["count"] == 1
    assert body["results"][0] == {
        "id": compass_case.pk,
        "contract_number": "0012345678",
        "creditor": "COMPASS",
        "batch": compass_case.batch.code,
        "main_debtor_name": "Mario Rossi",
        "main_debtor_tax_code": "RSSMRA80A01H501U",
        "product": "Prestito personale",
        "state": "open",
        "assignee": None,
        "needs_attention": False,
        "total_requested": "305.16",
    }


@pytest.mark.parametrize("persona", ["operator", "team_leader", "admin_user"])
def test_personas_of_the_creditor_see_its_cases(
    client: Client, compass_case: Case, persona: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(persona))

    assert contracts(client) == ["0012345678"]
    assert client.get(case_url(compass_case)).status_code == 200


def test_operator_of_another_creditor_sees_nothing_of_compass(
    client: Client, other_operator: User, compass_case: Case, axactor: Creditor
) -> None:
    client.force_login(other_operator)

    assert contracts(client) == []
    assert client.get(case_url(compass_case)).status_code == 404
    assert [c["code"] for c in client.get(CREDITORS_URL).json()["results"]] == ["AXACTOR"]
    assert not AuditEvent.objects.exists()


def test_administrator_sees_every_creditor(
    client: Client, admin_user: User, compass: Creditor, axactor: Creditor
) -> None:
    client.force_login(admin_user)

    codes = [c["code"] for c in client.get(CREDITORS_URL).json()["results"]]

    assert codes == ["AXACTOR", "COMPASS"]


def test_filters_and_search(
    client: Client, admin_user: User, compass_case: Case, axactor: Creditor
) -> None:
    CaseFactory(creditor=axactor, contract_number="AX-1", state=CaseState.CLOSED)
    client.force_login(admin_user)

    assert contracts(client, creditor=str(axactor.pk)) == ["AX-1"]
    assert contracts(client, state="closed") == ["AX-1"]
    assert contracts(client, batch=str(compass_case.batch_id)) == ["0012345678"]
    assert contracts(client, needs_attention="false") == ["AX-1", "0012345678"]
    assert contracts(client, search="rossi") == ["0012345678"]
    assert contracts(client, search="rssmra80a01h501u") == ["0012345678"]
    assert contracts(client, search="AX") == ["AX-1"]


def test_filter_on_an_invisible_creditor_is_a_field_error(
    client: Client, other_operator: User, compass: Creditor
) -> None:
    client.force_login(other_operator)

    response = client.get(CASES_URL, {"creditor": str(compass.pk)})

    assert response.status_code == 400
    assert "creditor" in response.json()


def test_detail(client: Client, operator: User, compass_case: Case, compass: Creditor) -> None:
    NoteFactory(case=compass_case, kind=NoteKind.SYSTEM, text="Rata 1 insoluta")
    later = CaseFactory(creditor=compass, previous=compass_case)
    client.force_login(operator)

    body = client.get(case_url(compass_case)).json()

    assert body["total_requested"] == "305.16"
    assert body["reassignments"] == [later.pk]
    assert [p["role"] for p in body["parties"]] == ["main"]
    assert body["parties"][0]["debtor"]["tax_code"] == "RSSMRA80A01H501U"
    assert [(i["number"], i["status"], i["fees"]) for i in body["installments"]] == [
        (1, "unpaid", "5.16"),
        (2, "unpaid", "0.00"),
        (3, "due", "0.00"),
    ]
    assert body["notes"][0]["kind"] == "system"
    assert body["notes"][0]["text"] == "Rata 1 insoluta"


def test_detail_is_audited(client: Client, operator: User, compass_case: Case) -> None:
    client.force_login(operator)

    client.get(case_url(compass_case))

    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_id) == (
        operator,
        AuditAction.VIEW,
        str(compass_case.pk),
    )


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def add_cases(creditor: Creditor, user: User, count: int) -> None:
    batch = BatchFactory(creditor=creditor)
    for case in CaseFactory.create_batch(count, creditor=creditor, batch=batch, assignee=user):
        InstallmentFactory(case=case, amount=Decimal("10.00"), status=InstallmentStatus.UNPAID)


def test_list_query_count_does_not_grow_with_the_cases(
    client: Client, operator: User, compass: Creditor
) -> None:
    client.force_login(operator)
    add_cases(compass, operator, 3)
    count_queries(client, CASES_URL)  # warm-up
    with_three = count_queries(client, CASES_URL)

    add_cases(compass, operator, 27)

    assert count_queries(client, CASES_URL) == with_three


def test_schema_generates_without_warnings(tmp_path: Path) -> None:
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
