"""The case page: what it shows, who may open it, the audit of every opening."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, User
from cases.models import (
    Case,
    ContactKind,
    InstallmentStatus,
    NoteKind,
    PartyRole,
    PaymentState,
    Source,
)
from cases.payments import advance_payment, record_payment
from cases.tests.factories import (
    AddressFactory,
    CaseFactory,
    CasePartyFactory,
    ContactFactory,
    DebtorFactory,
    InstallmentFactory,
    NoteFactory,
    PaymentFactory,
)
from creditors.models import Creditor
from imports.models import ImportJob, ImportKind, Layout

pytestmark = pytest.mark.django_db


def detail_url(case: Case) -> str:
    return reverse("cases:detail", args=[case.pk])


@pytest.fixture
def unpaid_job(compass: Creditor, back_office: User) -> ImportJob:
    return ImportJob.objects.create(
        creditor=compass,
        layout=Layout.objects.filter(kind=ImportKind.UNPAID).first(),
        kind=ImportKind.UNPAID,
        file="imports/2025/05/insoluti.csv",
        original_name="insoluti.csv",
        sha256="0" * 64,
        created_by=back_office,
    )


def test_anonymous_is_sent_to_login(client: Client, compass_case: Case) -> None:
    response = client.get(detail_url(compass_case))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("persona", ["operator", "team_leader", "admin_user"])
def test_personas_of_the_creditor_open_the_case(
    client: Client, compass_case: Case, persona: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(persona))

    assert client.get(detail_url(compass_case)).status_code == 200


def test_operator_of_another_creditor_gets_not_found(
    client: Client, other_operator: User, compass_case: Case
) -> None:
    client.force_login(other_operator)

    response = client.get(detail_url(compass_case))

    assert response.status_code == 404
    assert not AuditEvent.objects.exists()


def test_opening_a_case_is_audited(client: Client, operator: User, compass_case: Case) -> None:
    client.force_login(operator)

    client.get(detail_url(compass_case))

    event = AuditEvent.objects.get()
    assert (event.user, event.action) == (operator, AuditAction.VIEW)
    assert (event.object_type, event.object_id) == ("cases.case", str(compass_case.pk))


def test_header_shows_the_total_requested_and_the_review_flag(
    client: Client, operator: User, compass_case: Case
) -> None:
    compass_case.needs_attention = True
    compass_case.save()
    PaymentFactory(case=compass_case, amount=Decimal("5.16"))
    client.force_login(operator)
    client.cookies["django_language"] = "en"

    content = client.get(detail_url(compass_case)).content.decode()

    # 100.00 + 5.16 + 200.00 unpaid, the due 300.00 left out, 5.16 paid.
    assert '<div class="total-requested" data-testid="total-requested">€ 300.00</div>' in content
    assert "To review" in content
    assert "Compass Banca S.p.A." in content
    assert compass_case.batch.code in content


def test_total_requested_is_in_italian_format(
    client: Client, operator: User, compass_case: Case
) -> None:
    client.force_login(operator)

    content = client.get(detail_url(compass_case)).content.decode()

    assert ">€ 305,16</div>" in content


def test_the_assignment_details_from_the_creditor_are_shown(
    client: Client, operator: User, compass_case: Case
) -> None:
    compass_case.creditor_reference = "AX00700000"
    compass_case.original_creditor = "Banca Alfa S.p.A."
    compass_case.principal = Decimal("1234.56")
    compass_case.interest = Decimal("100.10")
    compass_case.charges = Decimal("15.00")
    compass_case.assigned_total = Decimal("1349.66")
    compass_case.acceleration_date = datetime.date(2023, 5, 10)
    compass_case.last_payment_date = datetime.date(2024, 1, 28)
    compass_case.save()
    client.force_login(operator)
    client.cookies["django_language"] = "en"

    content = client.get(detail_url(compass_case)).content.decode()

    for label, value in (
        ("Creditor reference", "AX00700000"),
        ("Original creditor", "Banca Alfa S.p.A."),
        ("Principal", "€ 1,234.56"),
        ("Interest", "€ 100.10"),
        ("Fees assigned", "€ 15.00"),
        ("Total assigned", "€ 1,349.66"),
        ("Acceleration date", "10/05/2023"),
        ("Last payment date", "28/01/2024"),
    ):
        assert re.search(f"<dt [^>]*>{label}</dt><dd [^>]*>{re.escape(value)}</dd>", content), label
    assert "01/01/1980" in content  # the debtor's birth date


def test_dates_the_creditor_did_not_give_are_left_out(
    client: Client, operator: User, compass_case: Case
) -> None:
    client.force_login(operator)
    client.cookies["django_language"] = "en"

    content = client.get(detail_url(compass_case)).content.decode()

    assert "Total assigned" in content
    for label in ("Original creditor", "Acceleration date", "Last payment date"):
        assert label not in content


def test_installments_show_dates_status_and_fees(
    client: Client, operator: User, compass_case: Case
) -> None:
    InstallmentFactory(
        case=compass_case,
        number=4,
        due_date=datetime.date(2025, 6, 15),
        amount=Decimal("1489.17"),
        fees=Decimal("5.16"),
        status=InstallmentStatus.UNPAID,
        unpaid_on=datetime.date(2025, 6, 20),
    )
    client.force_login(operator)
    client.cookies["django_language"] = "en"

    content = client.get(detail_url(compass_case)).content.decode()

    assert "<td>15/06/2025</td>" in content
    assert ">20/06/2025</td>" in content
    assert "€ 1,489.17" in content
    assert '<span class="badge text-bg-danger">Unpaid</span>' in content
    assert '<span class="badge text-bg-secondary">Due</span>' in content
    assert "Direct debit" in content


def test_parties_addresses_and_contacts_are_shown(
    client: Client, operator: User, compass_case: Case
) -> None:
    debtor = compass_case.main_debtor()
    assert debtor is not None
    AddressFactory(debtor=debtor, street="Via Verdi 3", city="Torino", province="TO")
    ContactFactory(debtor=debtor, kind=ContactKind.EMAIL, value="m.rossi@example.it")
    ContactFactory(debtor=debtor, value="+39 333 1234567", source=Source.AGENCY)
    guarantor = DebtorFactory(name="Anna Verdi", birth_date=datetime.date(1955, 12, 31))
    CasePartyFactory(case=compass_case, debtor=guarantor, role=PartyRole.GUARANTOR)
    client.force_login(operator)
    client.cookies["django_language"] = "en"

    content = client.get(detail_url(compass_case)).content.decode()

    assert "RSSMRA80A01H501U" in content
    assert "Via Verdi 3, 20121 Torino (TO)" in content
    assert 'href="mailto:m.rossi@example.it"' in content
    assert "+39 333 1234567" in content
    assert "Agency" in content
    assert "Anna Verdi" in content
    assert "Guarantor" in content
    assert "31/12/1955" in content
    assert content.index("Mario Rossi") < content.index("Anna Verdi")


def test_system_note_links_its_import_job(
    client: Client, operator: User, compass_case: Case, unpaid_job: ImportJob
) -> None:
    text = "Rata 3 scad. 15/05/2025 insoluta: € 489,17 + spese di protesto € 5,16"
    NoteFactory(case=compass_case, kind=NoteKind.SYSTEM, text=text, job=unpaid_job, row_number=4)
    NoteFactory(case=compass_case, text="Richiamare lunedì", author=operator)
    client.force_login(operator)

    content = client.get(detail_url(compass_case)).content.decode()

    assert text in content
    assert "bi-gear-fill" in content
    assert reverse("imports:job", args=[unpaid_job.pk]) in content
    # Newest first.
    assert content.index("Richiamare lunedì") < content.index(text)


def test_reassignment_links_both_ways(client: Client, operator: User, compass_case: Case) -> None:
    later = CaseFactory(
        creditor=compass_case.creditor, contract_number="0012345678", previous=compass_case
    )
    client.force_login(operator)

    earlier_page = client.get(detail_url(compass_case)).content.decode()
    later_page = client.get(detail_url(later)).content.decode()

    assert f'href="{detail_url(later)}"' in earlier_page
    assert f'href="{detail_url(compass_case)}"' in later_page


def count_page_queries(client: Client, case: Case) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(detail_url(case)).status_code == 200
    return len(queries)


def test_page_query_count_does_not_grow_with_installments_notes_and_payments(
    client: Client, operator: User, team_leader: User, compass_case: Case, unpaid_job: ImportJob
) -> None:
    client.force_login(operator)
    # One payment from the start: its allocations and history are one query each, however many.
    record_payment(compass_case, datetime.date(2025, 6, 1), Decimal("10.00"), "agency", operator)
    count_page_queries(client, compass_case)  # warm-up
    before = count_page_queries(client, compass_case)

    for number in range(10, 30):
        InstallmentFactory(case=compass_case, number=number, status=InstallmentStatus.UNPAID)
        NoteFactory(case=compass_case, kind=NoteKind.SYSTEM, job=unpaid_job, author=None)
        NoteFactory(case=compass_case, author=operator)
        PaymentFactory(case=compass_case)
        payment = record_payment(
            compass_case, datetime.date(2025, 6, 2), Decimal("150.00"), "agency", operator
        )
        advance_payment(payment, PaymentState.COLLECTED, team_leader, on=datetime.date(2025, 6, 3))
    debtor = compass_case.main_debtor()
    AddressFactory.create_batch(3, debtor=debtor)
    ContactFactory.create_batch(3, debtor=debtor)
    CasePartyFactory.create_batch(3, case=compass_case, role=PartyRole.CO_OBLIGOR)
    CaseFactory.create_batch(2, creditor=compass_case.creditor, previous=compass_case)

    assert count_page_queries(client, compass_case) == before
