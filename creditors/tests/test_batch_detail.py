"""The batch page and returning a batch from it: what it shows, who may see it, who may return."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, Role, User
from cases.models import Case, CaseState
from cases.tests.factories import BatchFactory
from conftest import make_user
from creditors.models import Batch, BatchState, Creditor

pytestmark = pytest.mark.django_db
TODAY = datetime.datetime(2025, 10, 15, 10, 0, tzinfo=datetime.UTC)


def detail_url(batch: Batch) -> str:
    return reverse("creditors:batch-detail", args=[batch.pk])


def return_url(batch: Batch) -> str:
    return reverse("creditors:batch-return", args=[batch.pk])


def case_states(batch: Batch) -> dict[str, str]:
    return dict(Case.objects.filter(batch=batch).values_list("contract_number", "state"))


def test_anonymous_is_sent_to_login(client: Client, compass_batch: Batch) -> None:
    for url in (detail_url(compass_batch), return_url(compass_batch)):
        response = client.post(url) if url.endswith("return/") else client.get(url)

        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_login')}?next={url}"
    assert compass_batch.cases.filter(state=CaseState.RETURNED).count() == 0


@pytest.mark.parametrize("persona", ["operator", "team_leader", "back_office", "admin_user"])
def test_personas_of_the_creditor_open_the_batch(
    client: Client, compass_batch: Batch, persona: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(persona))

    assert client.get(detail_url(compass_batch)).status_code == 200


def test_operator_of_another_creditor_gets_not_found(
    client: Client, other_operator: User, compass_batch: Batch
) -> None:
    client.force_login(other_operator)

    assert client.get(detail_url(compass_batch)).status_code == 404
    assert client.post(return_url(compass_batch), {"returned_on": "2025-09-30"}).status_code == 404
    compass_batch.refresh_from_db()
    assert compass_batch.state == BatchState.OPEN


def test_back_office_of_another_creditor_cannot_return_a_batch(
    client: Client, axactor: Creditor, compass_batch: Batch
) -> None:
    client.force_login(make_user("backoffice_axactor", Role.BACK_OFFICE, axactor))

    assert client.post(return_url(compass_batch), {"returned_on": "2025-09-30"}).status_code == 404
    compass_batch.refresh_from_db()
    assert compass_batch.state == BatchState.OPEN


def test_page_shows_the_figures_and_links_to_the_cases(
    english: Client, operator: User, compass_batch: Batch
) -> None:
    english.force_login(operator)

    response = english.get(detail_url(compass_batch))

    content = response.content.decode()
    assert 'data-testid="assigned">€ 2,000.16</div>' in content
    assert 'data-testid="collected">€ 180.50</div>' in content
    assert 'data-testid="recovery-rate">9.0%</div>' in content
    assert 'data-testid="case-count">3</div>' in content
    assert 'data-testid="returned-on">—</dd>' in content
    assert f'href="{reverse("cases:list")}?batch={compass_batch.pk}"' in content
    assert "Show its 3 cases" in content
    assert response.context["cases_by_state"] == [
        ("Open", 2),
        ("Closed", 1),
        ("Returned to creditor", 0),
    ]


def test_operator_sees_no_return_action_and_is_refused_it(
    english: Client, operator: User, compass_batch: Batch
) -> None:
    english.force_login(operator)

    page = english.get(detail_url(compass_batch)).content.decode()
    response = english.post(return_url(compass_batch), {"returned_on": "2025-09-30"})

    assert return_url(compass_batch) not in page
    assert "Return batch" not in page
    assert response.status_code == 403
    compass_batch.refresh_from_db()
    assert compass_batch.state == BatchState.OPEN
    assert not AuditEvent.objects.exists()


def test_the_batch_page_does_not_answer_a_post(
    client: Client, back_office: User, compass_batch: Batch
) -> None:
    client.force_login(back_office)

    assert client.post(detail_url(compass_batch)).status_code == 405


@time_machine.travel(TODAY, tick=False)
def test_return_form_proposes_today(
    english: Client, back_office: User, compass_batch: Batch
) -> None:
    english.force_login(back_office)

    content = english.get(detail_url(compass_batch)).content.decode()

    assert f'action="{return_url(compass_batch)}"' in content
    assert 'name="returned_on" value="2025-10-15"' in content
    assert "its 2 open cases are returned to the creditor" in content


@pytest.mark.parametrize("persona", ["back_office", "team_leader", "admin_user"])
@time_machine.travel(TODAY, tick=False)
def test_returning_the_batch(
    english: Client, compass_batch: Batch, persona: str, request: pytest.FixtureRequest
) -> None:
    english.force_login(request.getfixturevalue(persona))

    response = english.post(return_url(compass_batch), {"returned_on": "2025-09-30"})

    assert response.status_code == 302
    assert response["Location"] == detail_url(compass_batch)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        "Batch LOTTO-2025-03 returned to the creditor: 2 open cases are now returned."
    ]
    compass_batch.refresh_from_db()
    assert (compass_batch.state, compass_batch.returned_on) == (
        BatchState.RETURNED,
        datetime.date(2025, 9, 30),
    )
    assert case_states(compass_batch) == {
        "0012345678": CaseState.RETURNED,
        "0077": CaseState.RETURNED,
        "0099": CaseState.CLOSED,
    }


@time_machine.travel(TODAY, tick=False)
def test_a_returned_batch_offers_its_report_and_no_return(
    english: Client, back_office: User, compass_batch: Batch
) -> None:
    english.force_login(back_office)
    english.post(return_url(compass_batch), {"returned_on": "2025-09-30"})

    response = english.get(detail_url(compass_batch))

    content = response.content.decode()
    assert 'data-testid="batch-state">Returned</span>' in content
    assert 'data-testid="returned-on">30/09/2025</dd>' in content
    assert reverse("creditors:batch-report", args=[compass_batch.pk]) in content
    assert "End-of-mandate report" in content
    assert f'action="{return_url(compass_batch)}"' not in content


def test_an_open_batch_offers_no_report(
    english: Client, back_office: User, compass_batch: Batch
) -> None:
    english.force_login(back_office)

    content = english.get(detail_url(compass_batch)).content.decode()

    assert reverse("creditors:batch-report", args=[compass_batch.pk]) not in content


@time_machine.travel(TODAY, tick=False)
def test_returning_a_batch_twice_is_refused(
    english: Client, back_office: User, compass_batch: Batch
) -> None:
    english.force_login(back_office)
    english.post(return_url(compass_batch), {"returned_on": "2025-09-30"})

    response = english.post(return_url(compass_batch), {"returned_on": "2025-10-01"})

    assert response.status_code == 409
    assert response.context["return_form"].non_field_errors() == [
        "Batch LOTTO-2025-03 was already returned on 30/09/2025."
    ]
    assert "Batch LOTTO-2025-03 was already returned on 30/09/2025." in response.content.decode()
    compass_batch.refresh_from_db()
    assert compass_batch.returned_on == datetime.date(2025, 9, 30)


@pytest.mark.parametrize(
    ("returned_on", "message"),
    [
        ("2025-02-28", "The return date cannot be earlier than the assignment date (01/03/2025)."),
        ("2025-10-16", "The return date cannot be later than today."),
    ],
)
@time_machine.travel(TODAY, tick=False)
def test_return_dates_out_of_the_mandate_are_refused(
    english: Client, back_office: User, compass_batch: Batch, returned_on: str, message: str
) -> None:
    english.force_login(back_office)

    response = english.post(return_url(compass_batch), {"returned_on": returned_on})

    assert response.status_code == 409
    assert response.context["return_form"].non_field_errors() == [message]
    assert message in response.content.decode()
    compass_batch.refresh_from_db()
    assert compass_batch.state == BatchState.OPEN
    assert case_states(compass_batch)["0077"] == CaseState.OPEN


def test_a_return_without_a_valid_date_is_refused(
    english: Client, back_office: User, compass_batch: Batch
) -> None:
    english.force_login(back_office)

    response = english.post(return_url(compass_batch), {"returned_on": "31/02/2025"})

    assert response.status_code == 400
    assert response.context["return_form"].errors == {"returned_on": ["Enter a valid date."]}
    compass_batch.refresh_from_db()
    assert compass_batch.state == BatchState.OPEN


def test_a_closed_batch_cannot_be_returned(
    english: Client, back_office: User, compass: Creditor
) -> None:
    batch = BatchFactory(creditor=compass, code="DONE", state=BatchState.CLOSED)
    english.force_login(back_office)

    page = english.get(detail_url(batch)).content.decode()
    response = english.post(return_url(batch), {"returned_on": "2025-09-30"})

    assert f'action="{return_url(batch)}"' not in page
    assert response.status_code == 409
    assert response.context["return_form"].non_field_errors() == [
        "Batch DONE is closed and cannot be returned."
    ]
