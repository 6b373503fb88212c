"""Payments through the REST API and the command line: the same rules as the case page."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from billing.models import PreInvoice, PreInvoiceState
from cases.models import Case, CaseState, Installment, Payment, PaymentState
from cases.payments import record_payment
from cases.tests.factories import CaseFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def june_10th() -> Any:
    with time_machine.travel(
        datetime.datetime(2025, 6, 10, 12, 0, tzinfo=datetime.UTC), tick=False
    ):
        yield


@pytest.fixture
def english(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def payments_url(case: Case) -> str:
    return reverse("api:case-payment-list", args=[case.pk])


def action_url(payment: Payment, name: str) -> str:
    return reverse(f"api:case-payment-{name}", args=[payment.case_id, payment.pk])


def pay(case: Case, amount: str, user: User | None = None) -> Payment:
    return record_payment(case, datetime.date(2025, 6, 1), D(amount), "agency", user)


def test_record_and_list(english: Client, operator: User, compass_case: Case) -> None:
    english.force_login(operator)

    response = english.post(
        payments_url(compass_case),
        {"paid_on": "2025-06-01", "amount": "150.00", "channel": "creditor"},
        content_type="application/json",
    )

    assert response.status_code == 201
    body = response.json()
    assert response["Location"].endswith(action_url(Payment.objects.get(), "detail"))
    assert {key: body[key] for key in ("amount", "channel", "state", "unallocated_amount")} == {
        "amount": "150.00",
        "channel": "creditor",
        "state": "reported",
        "unallocated_amount": "0.00",
    }
    assert [(a["installment_number"], a["amount"]) for a in body["allocations"]] == [
        (1, "100.00"),
        (2, "50.00"),
    ]
    assert body["recorded_by"] == "operatore"
    assert [(e["from_state"], e["to_state"]) for e in body["events"]] == [("", "reported")]
    listed = english.get(payments_url(compass_case)).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    case = english.get(reverse("api:case-detail", args=[compass_case.pk])).json()
    assert case["total_requested"] == "155.16"


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"paid_on": "2025-06-01", "amount": "0"},
            {"amount": ["The amount must be greater than zero."]},
        ),
        (
            {"paid_on": "2025-06-11", "amount": "5"},
            {"paid_on": ["The payment date cannot be in the future."]},
        ),
        (
            {"paid_on": "2025-06-01", "amount": "5", "channel": "cash"},
            {"channel": ['"cash" is not a valid choice.']},
        ),
    ],
)
def test_bad_input_gets_field_errors(
    english: Client, operator: User, compass_case: Case, data: dict[str, str], errors: Any
) -> None:
    english.force_login(operator)

    response = english.post(payments_url(compass_case), data, content_type="application/json")

    assert (response.status_code, response.json()) == (400, errors)
    assert not Payment.objects.exists()


def test_closed_case_is_a_conflict(english: Client, operator: User, compass_case: Case) -> None:
    compass_case.state = CaseState.RETURNED
    compass_case.save()
    english.force_login(operator)

    response = english.post(
        payments_url(compass_case),
        {"paid_on": "2025-06-01", "amount": "5"},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": (
            "Case 0012345678 is returned to creditor: payments are recorded on open cases only."
        ),
        "code": "refused",
    }


def test_other_creditors_operator_gets_not_found(
    client: Client, other_operator: User, compass_case: Case
) -> None:
    payment = pay(compass_case, "10.00")
    client.force_login(other_operator)

    assert client.get(payments_url(compass_case)).status_code == 404
    assert client.get(action_url(payment, "detail")).status_code == 404
    assert (
        client.post(
            payments_url(compass_case), {"paid_on": "2025-06-01", "amount": "5"}
        ).status_code
        == 404
    )
    assert client.post(action_url(payment, "advance"), {"to_state": "collected"}).status_code == 404
    assert client.post(action_url(payment, "cancel"), {"reason": "x"}).status_code == 404
    assert Payment.objects.get().state == PaymentState.REPORTED


def test_anonymous_is_refused(client: Client, compass_case: Case) -> None:
    assert client.get(payments_url(compass_case)).status_code == 403


@pytest.mark.parametrize("persona", ["back_office", "team_leader", "admin_user"])
def test_advance_to_collected(
    client: Client, compass_case: Case, persona: str, request: pytest.FixtureRequest
) -> None:
    payment = pay(compass_case, "10.00")
    client.force_login(request.getfixturevalue(persona))

    response = client.post(
        action_url(payment, "advance"),
        {"to_state": "collected", "on": "2025-06-05"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["collected_on"]) == (
        "collected",
        "2025-06-05",
    )
    assert [e["to_state"] for e in response.json()["events"]] == ["reported", "collected"]


def test_operator_may_not_advance(english: Client, operator: User, compass_case: Case) -> None:
    payment = pay(compass_case, "10.00", operator)
    english.force_login(operator)

    response = english.post(action_url(payment, "advance"), {"to_state": "collected"})

    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Only back office, team leaders and administrators may change a payment's state."
    )


def test_backward_step_is_a_field_error(
    english: Client, team_leader: User, compass_case: Case
) -> None:
    payment = pay(compass_case, "10.00")
    english.force_login(team_leader)

    response = english.post(action_url(payment, "advance"), {"to_state": "invoiced"})

    assert (response.status_code, response.json()) == (
        400,
        {"to_state": ["A payment that is reported cannot become invoiced."]},
    )


def test_locked_payment_is_a_conflict(
    english: Client, team_leader: User, compass_case: Case
) -> None:
    payment = pay(compass_case, "150.00")
    pre_invoice = PreInvoice.objects.create(
        creditor=compass_case.creditor,
        period_start=datetime.date(2025, 6, 1),
        period_end=datetime.date(2025, 6, 30),
        state=PreInvoiceState.CONFIRMED,
    )
    Payment.objects.filter(pk=payment.pk).update(pre_invoice=pre_invoice)
    english.force_login(team_leader)

    advanced = english.post(action_url(payment, "advance"), {"to_state": "collected"})
    cancelled = english.post(action_url(payment, "cancel"), {"reason": "Errore"})

    for response in (advanced, cancelled):
        assert response.status_code == 409
        assert response.json()["code"] == "locked"
    assert english.get(action_url(payment, "detail")).json()["is_locked"] is True
    assert Payment.objects.get().state == PaymentState.REPORTED


def test_cancel_restores_the_installments(
    client: Client, team_leader: User, compass_case: Case
) -> None:
    before = list(Installment.objects.values_list("pk", "status", "paid_amount"))
    payment = pay(compass_case, "250.00")
    client.force_login(team_leader)

    response = client.post(action_url(payment, "cancel"), {"reason": "Assegno scoperto"})

    assert response.status_code == 204
    assert list(Installment.objects.values_list("pk", "status", "paid_amount")) == before


def test_list_query_count_does_not_grow(client: Client, operator: User, compass_case: Case) -> None:
    pay(compass_case, "10.00")
    client.force_login(operator)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(payments_url(compass_case)).status_code == 200
        return len(queries)

    count()
    before = count()
    for _ in range(10):
        pay(compass_case, "25.00")

    assert count() == before


# Command line


def test_command_records_and_prints_json(compass_case: Case) -> None:
    out = StringIO()

    call_command(
        "record_payment",
        "--creditor=compass",
        "--contract=0012345678",
        "--date=2025-06-01",
        "--amount=120.00",
        "--json",
        stdout=out,
    )

    result = json.loads(out.getvalue())
    payment = Payment.objects.get()
    assert result == {
        "status": "recorded",
        "payment": payment.pk,
        "case": compass_case.pk,
        "state": "reported",
        "allocations": [
            {"installment": 1, "amount": "100.00"},
            {"installment": 2, "amount": "20.00"},
        ],
        "unallocated": "0.00",
        "total_requested": "185.16",
    }
    assert payment.channel == "agency"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--contract=NOPE"], "No case with contract NOPE for creditor COMPASS."),
        (["--date=01/06/2025"], "--date '01/06/2025' is not a date as YYYY-MM-DD."),
        (["--amount=12,50"], "--amount '12,50' is not an amount such as 123.45."),
        (["--amount=0"], "The amount must be greater than zero."),
        (["--amount=1e20"], "The amount cannot be more than € 999,999,999,999.99."),
    ],
)
def test_command_refuses_with_a_reason(
    compass_case: Case, arguments: list[str], message: str
) -> None:
    defaults = {"--contract": "0012345678", "--date": "2025-06-01", "--amount": "10"}
    for argument in arguments:
        defaults[argument.split("=")[0]] = argument.split("=", 1)[1]
    out = StringIO()

    with pytest.raises(CommandError) as refused, translation.override("en"):
        call_command(
            "record_payment",
            "--creditor=COMPASS",
            *(f"{key}={value}" for key, value in defaults.items()),
            "--json",
            stdout=out,
        )

    assert str(refused.value) == message
    assert json.loads(out.getvalue()) == {"status": "refused", "error": message}
    assert not Payment.objects.exists()


def test_command_picks_the_open_case_of_a_reassigned_contract(compass_case: Case) -> None:
    compass_case.state = CaseState.RETURNED
    compass_case.save()
    later = CaseFactory(
        creditor=compass_case.creditor, contract_number="0012345678", previous=compass_case
    )

    call_command(
        "record_payment",
        "--creditor=COMPASS",
        "--contract=0012345678",
        "--date=2025-06-01",
        "--amount=10",
        "--channel=creditor",
        stdout=StringIO(),
    )

    assert Payment.objects.get().case == later
