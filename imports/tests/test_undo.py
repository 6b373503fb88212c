"""Undoing an applied job: the database ends as it was before the job, or the undo is refused
with what stands in its way, and nothing changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEvent, Role, User
from cases.models import (
    Case,
    Contact,
    Debtor,
    Installment,
    InstallmentStatus,
    Note,
    PartyRole,
    PaymentAllocation,
)
from cases.tests.factories import (
    AddressFactory,
    BatchFactory,
    CaseFactory,
    CasePartyFactory,
    ContactFactory,
    DebtorFactory,
    InstallmentFactory,
    NoteFactory,
    PaymentFactory,
)
from creditors.models import Batch, Creditor
from imports.models import ImportJob, JobStatus
from imports.services import previous_application
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes, run_file
from imports.tests.snapshots import exact_snapshot
from imports.tests.test_views import client_for
from imports.undo import UndoRefused, undo_blockers, undo_job

pytestmark = pytest.mark.django_db

NEW_DEBTOR = "FORTÌ NICOLÒ;FRTNCL80A01H501U;VIA ROMA 1;3020;TORRICE;FR;0612345678;3331234567;"
KNOWN_DEBTOR = "SANGUINETI TEMISTOCLE;SNGTST56P19D292A;VIA PO 3;10124;TORINO;TO;0611111111;"


def affido(batch: str, contract: str, debtor: str, rest: str) -> str:
    """One portfolio row: batch, contract, the debtor's columns, then email, product and the
    installment's number, due date, amount and method."""
    return f"{batch};{contract};{debtor}{rest}"


ACQUISITION_ROWS = (
    affido("CMP-1", "0010007000", NEW_DEBTOR, "n@example.it;PRESTITO;1;15/08/2025;1.308,26;SDD"),
    affido("CMP-1", "0010007000", NEW_DEBTOR, "n@example.it;PRESTITO;2;15/09/2025;308,26;SDD"),
    # A debtor the agency has already: the same address and phone, and a new mobile.
    affido("CMP-1", "0010007001", KNOWN_DEBTOR + "3339999999;", ";CARTA;1;01/10/2025;50,00;BOL"),
    # A contract still open in an earlier batch: re-assigned.
    affido("CMP-1", "0010000002", KNOWN_DEBTOR + ";", ";PRESTITO;1;15/08/2025;99,00;SDD"),
)


def insoluto(contract: str, number: int, due: str, amount: str, fees: str = "5,16") -> str:
    return f"A0417;{contract};NOMINATIVO;;{number};{due};{amount};SDD;24/05/2025;{fees}"


INSOLUTI_ROWS = (
    insoluto("0010007000", 1, "15/08/2025", "1.308,26"),
    insoluto("0010007000", 2, "15/09/2025", "308,26", "7,00"),
    insoluto("0010007000", 2, "15/09/2025", "308,26"),  # the same installment again
    insoluto("0010007000", 3, "15/10/2025", "1,00"),  # nothing of the case agrees
    insoluto("0099999999", 1, "15/08/2025", "1,00"),  # contract unknown
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def existing(compass: Creditor) -> Debtor:
    return make_existing(compass)


def make_existing(compass: Creditor) -> Debtor:
    """What the agency had before the file: a debtor with an address, a phone and a case, and
    the contract the file re-assigns, open in an earlier batch."""
    debtor = DebtorFactory(name="SANGUINETI TEMISTOCLE", tax_code="SNGTST56P19D292A")
    AddressFactory(debtor=debtor, street="VIA PO 3", postcode="10124", city="TORINO")
    ContactFactory(debtor=debtor, kind="phone", value="0611111111")
    earlier = BatchFactory(creditor=compass, code="CMP-0")
    case = CaseFactory(
        creditor=compass, batch=earlier, contract_number="0010000001", main_party__debtor=debtor
    )
    InstallmentFactory(case=case, number=1, due_date=date(2025, 4, 15))
    CaseFactory(
        creditor=compass, batch=earlier, contract_number="0010000002", main_party__debtor=debtor
    )
    return debtor


def acquire(creditor: Creditor, *rows: str, name: str = "affido.csv") -> ImportJob:
    job = run_file(creditor, "compass-affido", csv_bytes(AFFIDO_HEADER, *rows), name)
    assert job.status == JobStatus.DONE, job.error
    return job


def insoluti(creditor: Creditor, *rows: str, name: str = "insoluti.csv") -> ImportJob:
    job = run_file(creditor, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, *rows), name)
    assert job.status == JobStatus.DONE, job.error
    return job


def blockers(job: ImportJob) -> list[str]:
    with translation.override("en"):
        return undo_blockers(job)


def refused(job: ImportJob, user: User) -> list[str]:
    with translation.override("en"), pytest.raises(UndoRefused) as refusal:
        undo_job(job, user)
    return refusal.value.reasons


# Portfolio acquisition


def test_undoing_an_acquisition_leaves_the_database_as_before(
    compass: Creditor, existing: Debtor, back_office: User
) -> None:
    before = exact_snapshot()
    job = acquire(compass, *ACQUISITION_ROWS)
    assert job.counts["cases_created"] == 3
    assert job.counts["cases_reassigned"] == 1
    assert existing.contacts.filter(value="+393339999999", created_job=job).exists()

    undo_job(job, back_office)

    assert exact_snapshot() == before
    job.refresh_from_db()
    assert (job.status, job.undone_by) == (JobStatus.UNDONE, back_office)
    assert job.undone_at is not None
    # The debtor the agency had stays, with what it had; the mobile the file added goes.
    assert set(existing.contacts.values_list("value", flat=True)) == {"0611111111"}
    assert not Debtor.objects.filter(tax_code="FRTNCL80A01H501U").exists()
    assert not Batch.objects.filter(code="CMP-1").exists()
    assert not job.rows.filter(case__isnull=False).exists()


def test_an_undo_is_audited(compass: Creditor, back_office: User) -> None:
    job = acquire(compass, *ACQUISITION_ROWS[:2])

    undo_job(job, back_office)

    event = AuditEvent.objects.get(action="update", object_id=str(job.pk))
    assert (event.user, event.object_type, event.summary) == (
        back_office,
        "imports.importjob",
        "undo",
    )
    assert event.before == {"status": "done"}
    assert event.after == {
        "status": "undone",
        "cases": 1,
        "installments": 2,
        "debtors": 1,
        "addresses": 1,
        "contacts": 3,
        "batches": 1,
    }


def test_after_an_undo_the_same_file_can_be_applied_again(
    compass: Creditor, existing: Debtor, back_office: User
) -> None:
    first = acquire(compass, *ACQUISITION_ROWS)
    after_first = Installment.objects.count()
    undo_job(first, back_office)

    assert previous_application(first) is None
    again = acquire(compass, *ACQUISITION_ROWS)

    assert again.counts == first.counts
    assert Installment.objects.count() == after_first


def test_a_batch_other_jobs_added_to_stays_until_they_are_undone(
    compass: Creditor, back_office: User
) -> None:
    before = exact_snapshot()
    first = acquire(compass, *ACQUISITION_ROWS[:2])
    other = affido("CMP-1", "0010008000", "ROSSI MARIO;;VIA MILANO 2;20100;MILANO;MI;;;", "")
    second = acquire(compass, other + ";;1;15/08/2025;10,00;SDD", name="second.csv")

    undo_job(first, back_office)
    assert Batch.objects.filter(code="CMP-1").exists()
    undo_job(second, back_office)

    assert exact_snapshot() == before


def test_an_acquisition_an_unpaid_file_relies_on_is_undone_after_it(
    compass: Creditor, existing: Debtor, back_office: User
) -> None:
    before = exact_snapshot()
    acquisition = acquire(compass, *ACQUISITION_ROWS)
    unpaid = insoluti(compass, *INSOLUTI_ROWS)
    after_both = exact_snapshot()

    assert refused(acquisition, back_office) == [
        f"Job #{unpaid.pk} refers to contract(s) 0010007000, loaded by this job: undo job "
        f"#{unpaid.pk} first."
    ]
    assert exact_snapshot() == after_both
    assert ImportJob.objects.get(pk=acquisition.pk).status == JobStatus.DONE

    undo_job(unpaid, back_office)
    assert blockers(acquisition) == []
    undo_job(acquisition, back_office)

    assert exact_snapshot() == before


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda case: NoteFactory(case=case),
            "Notes were written on contract(s) 0010007000.",
        ),
        (
            lambda case: PaymentFactory(case=case),
            "Payments were registered on contract(s) 0010007000.",
        ),
        (
            lambda case: case.installments.filter(number=2).update(status="paid"),
            "Installments of contract(s) 0010007000 were added or changed later.",
        ),
        (
            lambda case: InstallmentFactory(case=case, number=3),
            "Installments of contract(s) 0010007000 were added or changed later.",
        ),
        (
            lambda case: ContactFactory(debtor=case.main_debtor()),
            "Addresses or contacts were added later to debtor(s) FORTÌ NICOLÒ.",
        ),
        (
            lambda case: CaseFactory(creditor=case.creditor, previous=case),
            "Contract(s) 0010007000, loaded by this job, were re-assigned later.",
        ),
        (
            lambda case: CasePartyFactory(case=case, role=PartyRole.GUARANTOR),
            "Other parties were added to contract(s) 0010007000.",
        ),
    ],
    ids=[
        "note",
        "payment",
        "installment paid",
        "installment added",
        "contact",
        "re-assigned",
        "guarantor",
    ],
)
def test_work_done_on_the_cases_since_blocks_the_undo(
    compass: Creditor, back_office: User, make: Any, reason: str
) -> None:
    job = acquire(compass, *ACQUISITION_ROWS[:2])
    make(Case.objects.get(created_job=job))
    snapshot = exact_snapshot()

    assert reason in refused(job, back_office)
    assert exact_snapshot() == snapshot


def test_a_new_debtor_on_cases_loaded_later_blocks_the_undo(
    compass: Creditor, back_office: User
) -> None:
    first = acquire(compass, *ACQUISITION_ROWS[:2])
    again = ACQUISITION_ROWS[0].replace("CMP-1;0010007000", "CMP-2;0010007999")
    second = acquire(compass, again, name="second.csv")

    assert blockers(first) == [
        f"Debtor(s) FORTÌ NICOLÒ, on cases of this job, are on cases loaded later by job "
        f"#{second.pk} too: undo job #{second.pk} first."
    ]
    undo_job(second, back_office)
    undo_job(first, back_office)
    assert not Debtor.objects.exists()


def test_a_debtor_given_a_contact_shares_it_with_cases_loaded_later(
    compass: Creditor, existing: Debtor, back_office: User
) -> None:
    first = acquire(compass, ACQUISITION_ROWS[2])
    # The later file has the same mobile: it was not added again, because the first had it.
    later = ACQUISITION_ROWS[2].replace("CMP-1;0010007001", "CMP-2;0010007002")
    second = acquire(compass, later, name="second.csv")
    assert not Contact.objects.filter(created_job=second).exists()

    assert blockers(first) == [
        f"Debtor(s) SANGUINETI TEMISTOCLE, on cases of this job, are on cases loaded later by "
        f"job #{second.pk} too: undo job #{second.pk} first."
    ]


def test_a_contract_re_assigned_by_a_later_job_blocks_the_undo(
    compass: Creditor, back_office: User
) -> None:
    first = acquire(compass, *ACQUISITION_ROWS[:2])
    later = [row.replace("CMP-1;", "CMP-2;") for row in ACQUISITION_ROWS[:2]]
    second = acquire(compass, *later, name="second.csv")

    assert (
        f"Job #{second.pk} re-assigned contract(s) 0010007000, loaded by this job: undo job "
        f"#{second.pk} first."
    ) in blockers(first)


def test_long_lists_name_five_and_count_the_rest(compass: Creditor, back_office: User) -> None:
    rows = [
        affido("CMP-1", f"00100070{n:02d}", NEW_DEBTOR, ";;1;15/08/2025;1,00;SDD") for n in range(8)
    ]
    job = acquire(compass, *rows)
    for case in Case.objects.filter(created_job=job):
        NoteFactory(case=case)

    assert blockers(job) == [
        "Notes were written on contract(s) 0010007000, 0010007001, 0010007002, 0010007003, "
        "0010007004 and 3 more."
    ]


# Unpaid installments


@pytest.fixture
def portfolio(compass: Creditor) -> ImportJob:
    return acquire(compass, *ACQUISITION_ROWS[:3])


def test_undoing_an_unpaid_file_restores_installments_and_removes_its_notes(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    before = exact_snapshot()
    job = insoluti(compass, *INSOLUTI_ROWS)
    assert job.counts["found"] == 2
    assert Note.objects.count() == 2
    assert Case.objects.get(contract_number="0010007000").needs_attention

    undo_job(job, back_office)

    assert exact_snapshot() == before
    assert set(Installment.objects.values_list("status", "fees", "unpaid_on", "unpaid_job")) == {
        (InstallmentStatus.DUE, Decimal("0.00"), None, None)
    }
    assert not Note.objects.exists()
    assert not Case.objects.filter(needs_attention=True).exists()


def test_after_an_undo_the_same_unpaid_file_is_applied_again(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    first = insoluti(compass, *INSOLUTI_ROWS)
    applied = exact_snapshot()
    undo_job(first, back_office)

    again = insoluti(compass, *INSOLUTI_ROWS)

    assert again.status == JobStatus.DONE
    assert again.counts == first.counts
    # The same installments, fees and notes, now from the second job.
    again_snapshot = exact_snapshot()
    assert len(again_snapshot["cases.Note"]) == len(applied["cases.Note"])
    assert {row[:9] for row in again_snapshot["cases.Installment"]} == {
        row[:9] for row in applied["cases.Installment"]
    }


def test_a_case_stays_flagged_while_an_earlier_file_left_it_unpaid(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    insoluti(compass, INSOLUTI_ROWS[0], name="first.csv")
    second = insoluti(compass, INSOLUTI_ROWS[1], name="second.csv")

    undo_job(second, back_office)

    case = Case.objects.get(contract_number="0010007000")
    assert case.needs_attention
    assert list(case.installments.values_list("number", "status")) == [
        (1, InstallmentStatus.UNPAID),
        (2, InstallmentStatus.DUE),
    ]
    assert Note.objects.filter(case=case).count() == 1


def test_a_later_file_that_matched_the_installments_blocks_the_undo(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    first = insoluti(compass, *INSOLUTI_ROWS[:2], name="first.csv")
    second = insoluti(compass, INSOLUTI_ROWS[1], INSOLUTI_ROWS[3], name="second.csv")
    assert second.counts["duplicates"] == 1

    assert refused(first, back_office) == [
        f"Job #{second.pk} matched installments of contract(s) 0010007000 again: undo job "
        f"#{second.pk} first."
    ]

    undo_job(second, back_office)
    undo_job(first, back_office)
    assert not Installment.objects.filter(status=InstallmentStatus.UNPAID).exists()


CHANGED = "Installments of contract(s) 0010007000 were changed after this job."


@pytest.mark.parametrize(
    "change",
    [{"fees": Decimal("9.99")}, {"status": "paid"}, {"unpaid_job": None}],
    ids=["fees", "status", "unpaid job"],
)
def test_an_installment_changed_since_blocks_the_undo(
    portfolio: ImportJob, compass: Creditor, back_office: User, change: dict[str, Any]
) -> None:
    job = insoluti(compass, INSOLUTI_ROWS[0])
    Installment.objects.filter(unpaid_job=job).update(**change)

    assert refused(job, back_office) == [CHANGED]


def test_a_payment_recorded_before_the_job_does_not_block_its_undo(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    first = Installment.objects.filter(case__contract_number="0010007000").earliest("due_date")
    payment = PaymentFactory(case=first.case, amount=Decimal("10.00"))
    PaymentAllocation.objects.create(
        payment=payment, installment=first, amount=payment.amount, previous_status=first.status
    )
    Installment.objects.filter(pk=first.pk).update(paid_amount=payment.amount)
    job = insoluti(compass, INSOLUTI_ROWS[0])
    assert Installment.objects.filter(unpaid_job=job).exists()

    undo_job(job, back_office)

    job.refresh_from_db()
    assert job.status == JobStatus.UNDONE
    first.refresh_from_db()
    assert (first.status, first.paid_amount) == (InstallmentStatus.DUE, Decimal("10.00"))


def test_a_payment_on_an_unpaid_installment_blocks_the_undo(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    job = insoluti(compass, INSOLUTI_ROWS[0])
    installment = Installment.objects.get(unpaid_job=job)
    payment = PaymentFactory(case=installment.case, amount=installment.amount)
    PaymentAllocation.objects.create(
        payment=payment,
        installment=installment,
        amount=installment.amount,
        previous_status=installment.status,
    )

    assert refused(job, back_office) == [
        "Payments were registered on installments of contract(s) 0010007000."
    ]


# Jobs that cannot be undone


def test_a_job_is_undone_once(portfolio: ImportJob, back_office: User) -> None:
    undo_job(portfolio, back_office)

    reasons = refused(ImportJob.objects.get(pk=portfolio.pk), back_office)

    assert len(reasons) == 1
    assert reasons[0].startswith("This job was already undone on ")


def test_a_preview_or_a_failed_job_has_nothing_to_undo(
    compass: Creditor, back_office: User
) -> None:
    data = csv_bytes(AFFIDO_HEADER, *ACQUISITION_ROWS)
    preview = run_file(compass, "compass-affido", data, dry_run=True)
    failed = run_file(compass, "compass-affido", b"COLONNA;ALTRA\r\n1;2\r\n", "rotto.csv")

    assert blockers(preview) == ["A preview applied nothing, so there is nothing to undo."]
    assert blockers(failed) == ["Only a completed job that applied its file can be undone."]


def test_no_undo_while_another_file_is_being_applied(
    portfolio: ImportJob, back_office: User
) -> None:
    running = ImportJob.objects.create(
        creditor=portfolio.creditor,
        layout=portfolio.layout,
        kind=portfolio.kind,
        original_name="altro.csv",
        status=JobStatus.APPLYING,
    )

    assert refused(portfolio, back_office) == [
        "Another file is being applied right now: try again when it has finished."
    ]
    running.delete()


# Set-wise


@pytest.mark.parametrize("kind", ["acquisition", "unpaid"])
def test_undo_costs_the_same_queries_for_five_cases_as_for_fifty(
    compass: Creditor, back_office: User, kind: str
) -> None:
    def queries(count: int, batch: str) -> int:
        contracts = [f"{batch}{n:06d}" for n in range(count)]
        rows = [
            affido(batch, c, f"DEBITORE {c};;VIA {c};;;;;;", ";;1;15/08/2025;10,00;SDD")
            for c in contracts
        ]
        job = acquire(compass, *rows, name=f"{batch}.csv")
        if kind == "unpaid":
            lines = [insoluto(c, 1, "15/08/2025", "10,00") for c in contracts]
            job = insoluti(compass, *lines, name=f"{batch}-insoluti.csv")
        with CaptureQueriesContext(connection) as captured:
            undo_job(job, back_office)
        return len(captured)

    assert queries(5, "1000") == queries(50, "2000")


# Pages


def undo_url(job: ImportJob, name: str = "imports:job-undo") -> str:
    return reverse(name, kwargs={"pk": job.pk})


def test_the_job_page_loads_the_undo_panel_for_those_who_may_import(
    portfolio: ImportJob, back_office: User, operator: User
) -> None:
    page = client_for(back_office).get(reverse("imports:job", args=[portfolio.pk]))
    operators_page = client_for(operator).get(reverse("imports:job", args=[portfolio.pk]))

    panel = undo_url(portfolio, "imports:job-undo-panel")
    assert f'hx-get="{panel}"' in page.content.decode()
    assert panel not in operators_page.content.decode()


def test_the_undo_panel_offers_the_undo_or_says_what_blocks_it(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    client = client_for(back_office)
    unpaid = insoluti(compass, *INSOLUTI_ROWS)

    blocked = client.get(undo_url(portfolio, "imports:job-undo-panel")).content.decode()
    free = client.get(undo_url(unpaid, "imports:job-undo-panel")).content.decode()

    assert "This job cannot be undone" in blocked
    assert (
        f"<li>Job #{unpaid.pk} refers to contract(s) 0010007000, loaded by this job: undo job "
        f"#{unpaid.pk} first.</li>"
    ) in blocked
    assert undo_url(portfolio) not in blocked
    assert f'href="{undo_url(unpaid)}"' in free
    assert "Undo this job…" in free


def test_the_undo_page_says_what_will_be_taken_back(
    portfolio: ImportJob, back_office: User
) -> None:
    page = client_for(back_office).get(undo_url(portfolio)).content.decode()

    assert "2 cases deleted, with their parties" in page
    assert "3 installments deleted" in page
    assert "2 debtors it created deleted" in page
    assert f'<form method="post" action="{undo_url(portfolio)}">' in page


@pytest.mark.parametrize("persona", ["admin_user", "back_office", "team_leader"])
def test_those_who_may_import_undo_a_job(
    portfolio: ImportJob, persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    client = client_for(user)

    response = client.post(undo_url(portfolio))

    assert response.status_code == 302
    assert response["Location"] == reverse("imports:job", args=[portfolio.pk])
    portfolio.refresh_from_db()
    assert (portfolio.status, portfolio.undone_by) == (JobStatus.UNDONE, user)
    assert AuditEvent.objects.filter(user=user, summary="undo").exists()
    page = client.get(response["Location"]).content.decode()
    assert f"Job #{portfolio.pk} was undone." in page
    assert f"This job was undone on {portfolio.undone_at:%d/%m}" in page
    assert undo_url(portfolio, "imports:job-undo-panel") not in page


def test_an_operator_may_not_undo(portfolio: ImportJob, operator: User) -> None:
    before = exact_snapshot()
    client = client_for(operator)

    assert client.post(undo_url(portfolio)).status_code == 403
    assert client.get(undo_url(portfolio)).status_code == 403
    assert client.get(undo_url(portfolio, "imports:job-undo-panel")).status_code == 403
    assert exact_snapshot() == before
    assert ImportJob.objects.get(pk=portfolio.pk).status == JobStatus.DONE


def test_another_creditors_user_does_not_find_the_job(
    portfolio: ImportJob, other_operator: User, axactor: Creditor
) -> None:
    back_office_of_axactor = User.objects.create_user(
        username="backoffice_axactor", role=Role.BACK_OFFICE
    )
    back_office_of_axactor.creditors.set([axactor])

    for user in (other_operator, back_office_of_axactor):
        client = client_for(user)
        assert client.post(undo_url(portfolio)).status_code == 404
        assert client.get(undo_url(portfolio)).status_code == 404
        assert client.get(undo_url(portfolio, "imports:job-undo-panel")).status_code == 404
    assert ImportJob.objects.get(pk=portfolio.pk).status == JobStatus.DONE


def test_a_refused_undo_answers_conflict_with_the_reasons(
    portfolio: ImportJob, compass: Creditor, back_office: User
) -> None:
    unpaid = insoluti(compass, *INSOLUTI_ROWS)
    before = exact_snapshot()

    response = client_for(back_office).post(undo_url(portfolio))

    assert response.status_code == 409
    assert f"Job #{unpaid.pk} refers to contract(s) 0010007000" in response.content.decode()
    assert exact_snapshot() == before
