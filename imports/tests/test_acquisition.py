"""Portfolio acquisition: what a Compass-style file creates, merges and refuses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from cases.models import Address, Case, CaseParty, Contact, Debtor, Installment
from creditors.models import Batch, Creditor
from imports.models import ImportRow, JobStatus, RowOutcome
from imports.tests.helpers import AFFIDO_HEADER, csv_bytes, run_file

pytestmark = pytest.mark.django_db

ROWS = (
    "CMP-1;0010007000;FORTÌ NICOLÒ;FRTNCL80A01H501U;VIA ROMA 1;3020;TORRICE;FR;0612345678;"
    "3331234567;nicolo@example.it;PRESTITO PERSONALE;1;15/08/2025;1.308,26;SDD",
    "CMP-1;0010007000;FORTÌ NICOLÒ;FRTNCL80A01H501U;VIA ROMA 1;3020;TORRICE;FR;0612345678;"
    "3331234567;nicolo@example.it;PRESTITO PERSONALE;2;15/09/2025;308,26;SDD",
    # The same person on a second contract: one debtor, two cases.
    "CMP-1;0010007001;FORTÌ NICOLÒ;FRTNCL80A01H501U;VIA ROMA 1;3020;TORRICE;FR;;"
    "3331234567;;CARTA REVOLVING;1;01/10/2025;50,00;BOL",
)


def test_a_portfolio_creates_batch_cases_debtor_contacts_and_installments(
    compass: Creditor,
) -> None:
    job = run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *ROWS))

    assert job.status == JobStatus.DONE
    assert job.counts == {
        "rows": 3,
        "cases_created": 2,
        "cases_reassigned": 0,
        "already_present": 0,
        "debtors_created": 1,
        "installments_created": 3,
        "errors": 0,
        # FRTNCL80A01H501U has a wrong check character: both its cases are loaded, with a warning.
        "warnings": 2,
    }
    batch = Batch.objects.get()
    assert (batch.creditor, batch.code) == (compass, "CMP-1")
    debtor = Debtor.objects.get()
    assert (debtor.name, debtor.tax_code) == ("FORTÌ NICOLÒ", "FRTNCL80A01H501U")
    assert sorted(Case.objects.values_list("contract_number", flat=True)) == [
        "0010007000",
        "0010007001",
    ]
    assert CaseParty.objects.filter(debtor=debtor).count() == 2
    address = Address.objects.get()
    assert (address.street, address.postcode, address.city, address.province) == (
        "VIA ROMA 1",
        "03020",
        "TORRICE",
        "FR",
    )
    assert sorted(Contact.objects.values_list("kind", "value")) == [
        ("email", "nicolo@example.it"),
        ("mobile", "+393331234567"),
        ("phone", "+390612345678"),
    ]
    first = Installment.objects.get(case__contract_number="0010007000", number=1)
    assert (first.due_date, first.amount, first.payment_method, first.status) == (
        date(2025, 8, 15),
        Decimal("1308.26"),
        "SDD",
        "due",
    )


def test_without_amount_columns_the_principal_and_total_are_the_installments(
    compass: Creditor,
) -> None:
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *ROWS))

    assert sorted(
        Case.objects.values_list(
            "contract_number", "principal", "interest", "charges", "assigned_total"
        )
    ) == [
        ("0010007000", Decimal("1616.52"), Decimal("0.00"), Decimal("0.00"), Decimal("1616.52")),
        ("0010007001", Decimal("50.00"), Decimal("0.00"), Decimal("0.00"), Decimal("50.00")),
    ]
    assert list(Batch.objects.values_list("code", flat=True)) == ["CMP-1"]


def test_a_contract_open_in_an_earlier_batch_is_a_reassignment(compass: Creditor) -> None:
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *ROWS))
    later = [row.replace("CMP-1;", "CMP-2;") for row in ROWS[:2]]

    job = run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *later), "second.csv")

    assert job.counts["cases_reassigned"] == 1
    assert job.counts["debtors_created"] == 0
    earlier, latest = Case.objects.filter(contract_number="0010007000").order_by("id")
    assert latest.previous == earlier
    assert latest.batch.code == "CMP-2"


def test_the_same_rows_saved_again_in_another_encoding_create_nothing(compass: Creditor) -> None:
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *ROWS))

    again = csv_bytes(AFFIDO_HEADER, *ROWS, encoding="utf-8-sig", newline="\n")
    job = run_file(compass, "compass-affido", again, "again.csv")

    assert job.status == JobStatus.DONE
    assert job.counts["cases_created"] == 0
    assert job.counts["already_present"] == 2
    assert Case.objects.count() == 2
    assert Installment.objects.count() == 3


def test_the_same_file_twice_is_refused_and_creates_nothing(compass: Creditor) -> None:
    data = csv_bytes(AFFIDO_HEADER, *ROWS)
    first = run_file(compass, "compass-affido", data)

    with translation.override("en"):
        second = run_file(compass, "compass-affido", data)

    assert second.status == JobStatus.ALREADY_APPLIED
    assert second.duplicate_of == first
    assert second.error.startswith(f"This file was already applied by job #{first.pk} on ")
    assert Case.objects.count() == 2


def test_a_bad_row_keeps_its_case_out_and_says_why(compass: Creditor) -> None:
    bad = ROWS[1].replace("308,26", "12,3,4")

    with translation.override("en"):
        job = run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, ROWS[0], bad, ROWS[2]))

    assert job.status == JobStatus.DONE
    assert job.counts["cases_created"] == 1
    assert job.counts["errors"] == 2
    messages = list(
        ImportRow.objects.filter(job=job, outcome=RowOutcome.ERROR).values_list("number", "message")
    )
    assert messages == [
        (2, "Contract 0010007000 not loaded: fix row(s) 3 and load it again."),
        (3, "Row 3, column IMPORTO_RATA: '12,3,4' is not an amount"),
    ]
    assert list(Case.objects.values_list("contract_number", flat=True)) == ["0010007001"]


def test_a_preview_reports_the_counts_and_writes_nothing(compass: Creditor) -> None:
    job = run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *ROWS), dry_run=True)

    assert job.status == JobStatus.DONE
    assert job.counts["cases_created"] == 2
    assert (Case.objects.count(), Debtor.objects.count(), Batch.objects.count()) == (0, 0, 0)
    assert ImportRow.objects.filter(job=job).count() == 2


def test_a_failure_while_writing_leaves_the_database_as_it_was(
    compass: Creditor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr("imports.acquisition.AcquisitionImporter._installments", broken)

    job = run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *ROWS))

    assert job.status == JobStatus.FAILED
    assert (Case.objects.count(), Debtor.objects.count(), Batch.objects.count()) == (0, 0, 0)
    assert (Address.objects.count(), Contact.objects.count()) == (0, 0)
    assert not ImportRow.objects.filter(job=job).exists()
