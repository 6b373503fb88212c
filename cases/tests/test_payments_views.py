"""Payments on the case page: recording, marking collected, cancelling; who may do what."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import Role, User
from billing.models import PreInvoice, PreInvoiceState
from cases.models import Case, CaseState, Installment, InstallmentStatus, Payment, PaymentState
from cases.payments import record_payment
from conftest import make_user
from creditors.models import Creditor

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


def record_url(case: Case) -> str:
    return reverse("cases:payment-record", args=[case.pk])


def action_url(payment: Payment, name: str) -> str:
    return reverse(f"cases:payment-{name}", args=[payment.case_id, payment.pk])


def page(client: Client, case: Case) -> str:
    return client.get(reverse("cases:detail", args=[case.pk])).content.decode()


def pay(case: Case, amount: str, user: User | None = None) -> Payment:
    return record_payment(case, datetime.date(2025, 6, 1), D(amount), "agency", user)


@pytest.mark.parametrize("persona", ["operator", "back_office", "team_leader", "admin_user"])
def test_personas_record_a_payment(
    english: Client, compass_case: Case, persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    english.force_login(user)

    response = english.post(
        record_url(compass_case),
        {"paid_on": "2025-06-01", "amount": "150.00", "channel": "agency"},
        follow=True,
    )

    payment = Payment.objects.get()
    assert (payment.amount, payment.recorded_by) == (D("150.00"), user)
    assert response.redirect_chain[-1][0].endswith("#payments")
    content = response.content.decode()
    assert "Payment of € 150.00 recorded." in content
    assert '<span class="badge text-bg-warning">Reported</span>' in content
    assert "No. 1 due 15/05/2025: € 100.00" in content
    assert "No. 2 due 15/05/2025: € 50.00" in content
    # 305.16 less 100.00 and 50.00 settled, and the 5.16 fees of the paid installment.
    assert 'data-testid="total-requested">€ 155.16</div>' in content


@pytest.mark.parametrize(
    ("typed", "recorded"),
    [
        ("100,50", "100.50"),
        ("1.234,5", "1234.50"),
        ("€ 75", "75.00"),
        ("100.50", "100.50"),
        ("1,234.56", "1234.56"),
    ],
)
def test_the_amount_is_read_as_an_operator_types_it(
    english: Client, operator: User, compass_case: Case, typed: str, recorded: str
) -> None:
    """A comma is the decimal mark, as everywhere in Italy; a lone decimal point is read too."""
    english.force_login(operator)

    english.post(
        record_url(compass_case), {"paid_on": "2025-06-01", "amount": typed, "channel": "agency"}
    )

    assert Payment.objects.get().amount == D(recorded)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"paid_on": "2025-06-01", "amount": "0"}, "The amount must be greater than zero."),
        ({"paid_on": "2025-06-01", "amount": "-3"}, "The amount must be greater than zero."),
        (
            {"paid_on": "2025-06-01", "amount": "12,3,4"},
            "Enter an amount in euro with at most two decimals, e.g. 150,00.",
        ),
        (
            {"paid_on": "2025-06-01", "amount": "12,345"},
            "Enter an amount in euro with at most two decimals, e.g. 150,00.",
        ),
        (
            {"paid_on": "2025-06-01", "amount": "1,500"},
            "Enter an amount in euro with at most two decimals, e.g. 150,00.",
        ),
        ({"paid_on": "2025-06-01", "amount": "1.000.000.000.000"}, "The amount is too large."),
        ({"paid_on": "2025-06-01", "amount": ""}, "This field is required."),
        ({"paid_on": "2025-06-11", "amount": "10"}, "The payment date cannot be in the future."),
        ({"paid_on": "31/02/2025", "amount": "10"}, "Enter the date as day/month/year."),
        ({"paid_on": "", "amount": "10"}, "This field is required."),
    ],
)
def test_bad_input_is_shown_on_the_page(
    english: Client, operator: User, compass_case: Case, data: dict[str, str], message: str
) -> None:
    english.force_login(operator)

    response = english.post(record_url(compass_case), {"channel": "agency", **data})

    assert response.status_code == 200
    assert f'<div class="invalid-feedback d-block">{message}</div>' in response.content.decode()
    assert not Payment.objects.exists()


def test_closed_case_offers_no_form_and_refuses(
    english: Client, operator: User, compass_case: Case
) -> None:
    compass_case.state = CaseState.CLOSED
    compass_case.save()
    english.force_login(operator)

    assert "The case is not open: no payment can be recorded." in page(english, compass_case)
    response = english.post(
        record_url(compass_case), {"paid_on": "2025-06-01", "amount": "10", "channel": "agency"}
    )

    assert "Case 0012345678 is closed: payments are recorded on open cases only." in (
        response.content.decode()
    )
    assert not Payment.objects.exists()


def test_operator_of_another_creditor_gets_not_found(
    client: Client, other_operator: User, compass_case: Case
) -> None:
    payment = pay(compass_case, "10.00")
    client.force_login(other_operator)

    data = {"paid_on": "2025-06-01", "amount": "10", "channel": "agency", "reason": "x"}
    assert client.post(record_url(compass_case), data).status_code == 404
    assert client.post(action_url(payment, "collect")).status_code == 404
    assert client.post(action_url(payment, "cancel"), data).status_code == 404
    assert Payment.objects.get().state == PaymentState.REPORTED


def test_anonymous_is_sent_to_login(client: Client, compass_case: Case) -> None:
    response = client.post(record_url(compass_case), {"amount": "10"})

    assert response.status_code == 302
    assert not Payment.objects.exists()


@pytest.mark.parametrize("persona", ["back_office", "team_leader", "admin_user"])
def test_back_office_and_up_mark_a_payment_collected(
    english: Client, compass_case: Case, persona: str, request: pytest.FixtureRequest
) -> None:
    payment = pay(compass_case, "10.00")
    english.force_login(request.getfixturevalue(persona))
    assert action_url(payment, "collect") in page(english, compass_case)

    response = english.post(action_url(payment, "collect"), follow=True)

    payment.refresh_from_db()
    assert (payment.state, payment.collected_on) == ("collected", datetime.date(2025, 6, 10))
    content = response.content.decode()
    assert "Payment marked collected." in content
    assert re.search(r"Reported → Collected\s*<span[^>]*>· incassato il 10/06/2025</span>", content)


def test_operator_may_not_mark_collected(
    english: Client, operator: User, compass_case: Case
) -> None:
    payment = pay(compass_case, "10.00", operator)
    english.force_login(operator)

    assert action_url(payment, "collect") not in page(english, compass_case)
    assert english.post(action_url(payment, "collect")).status_code == 403
    assert Payment.objects.get().state == PaymentState.REPORTED


def test_cancel_from_the_page_reopens_the_installments(
    english: Client, back_office: User, compass_case: Case
) -> None:
    before = list(Installment.objects.values_list("pk", "status", "paid_amount"))
    payment = pay(compass_case, "150.00")
    english.force_login(back_office)

    response = english.post(
        action_url(payment, "cancel"), {"reason": "Assegno scoperto"}, follow=True
    )

    assert "Payment cancelled; its installments are open again." in response.content.decode()
    assert list(Installment.objects.values_list("pk", "status", "paid_amount")) == before
    assert not Payment.objects.exists()


def test_cancel_without_a_reason_is_refused(
    english: Client, back_office: User, compass_case: Case
) -> None:
    payment = pay(compass_case, "150.00")
    english.force_login(back_office)

    response = english.post(action_url(payment, "cancel"), {"reason": ""}, follow=True)

    assert "Say why the payment is cancelled." in response.content.decode()
    assert Payment.objects.exists()


def test_the_recorder_may_cancel_a_reported_payment_and_nobody_else_of_its_role(
    english: Client, operator: User, compass_case: Case, compass: Creditor
) -> None:
    colleague = make_user("collega", Role.OPERATOR, compass)
    payment = pay(compass_case, "150.00", operator)
    english.force_login(colleague)
    assert english.post(action_url(payment, "cancel"), {"reason": "x"}).status_code == 403

    english.force_login(operator)
    assert action_url(payment, "cancel") in page(english, compass_case)
    english.post(action_url(payment, "cancel"), {"reason": "Inserito per errore"})

    assert not Payment.objects.exists()


def test_locked_payment_offers_no_action_and_refuses_with_the_reason(
    english: Client, back_office: User, compass_case: Case
) -> None:
    payment = pay(compass_case, "150.00")
    pre_invoice = PreInvoice.objects.create(
        creditor=compass_case.creditor,
        period_start=datetime.date(2025, 6, 1),
        period_end=datetime.date(2025, 6, 30),
        state=PreInvoiceState.CONFIRMED,
    )
    Payment.objects.filter(pk=payment.pk).update(pre_invoice=pre_invoice)
    english.force_login(back_office)

    content = page(english, compass_case)
    assert "Locked by the pre-invoice" in content
    assert action_url(payment, "cancel") not in content
    assert action_url(payment, "collect") not in content
    response = english.post(action_url(payment, "cancel"), {"reason": "x"}, follow=True)

    assert "it cannot be changed." in response.content.decode()
    assert Payment.objects.get().state == PaymentState.REPORTED
    assert Installment.objects.get(number=1).status == InstallmentStatus.PAID
