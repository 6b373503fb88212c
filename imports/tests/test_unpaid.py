"""Unpaid installments: every outcome of the matching rules, and what is applied."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.models import AuditEvent
from cases.models import Case, Installment, InstallmentStatus, Note
from cases.payments import record_payment
from creditors.models import Creditor
from imports.models import ImportRow, JobStatus, Layout, RowOutcome
from imports.services import run_import, submit_import
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes, run_file

pytestmark = pytest.mark.django_db

PORTFOLIO = (
    "CMP-1;0010019418;SANGUINETI TEMISTOCLE;SNGTST56P19D292A;VIA PO 3;10124;TORINO;TO;;;;"
    "PRESTITO PERSONALE;{n};15/{m:02d}/2025;489,17;SDD"
)


@pytest.fixture
def portfolio(compass: Creditor) -> Creditor:
    rows = [PORTFOLIO.format(n=n, m=n + 4) for n in range(1, 6)]  # due 15/05 .. 15/09
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *rows), "affido.csv")
    return compass


def insoluto(
    contract: str = "0010019418",
    number: str = "1",
    due: str = "15/05/2025",
    amount: str = "489,17",
    method: str = "SDD",
    fees: str = "5,16",
) -> str:
    name = "SANGUINETI TEMISTOCLE"
    return f"A0417;{contract};{name};;{number};{due};{amount};{method};24/05/2025;{fees}"


def outcomes(job_id: int) -> list[tuple[int, str]]:
    return list(ImportRow.objects.filter(job_id=job_id).values_list("number", "outcome"))


def test_each_row_gets_the_outcome_the_matching_rules_give(portfolio: Creditor) -> None:
    data = csv_bytes(
        INSOLUTI_HEADER,
        insoluto(),  # found
        insoluto(amount="490,17", number="2", due="15/06/2025"),  # amount differs
        insoluto(due="16/07/2025", number="3"),  # due date differs
        insoluto(method="BOL", number="4", due="15/08/2025"),  # method differs
        insoluto(contract="0099999999"),  # contract unknown
        insoluto(due="15/01/2035", amount="1,00", method="BON", number="9"),  # nothing agrees
        insoluto(),  # the first row again
    )

    job = run_file(portfolio, "compass-insoluti", data)

    assert job.status == JobStatus.DONE
    assert outcomes(job.pk) == [
        (2, RowOutcome.FOUND),
        (3, RowOutcome.AMOUNT_MISMATCH),
        (4, RowOutcome.DUE_DATE_MISMATCH),
        (5, RowOutcome.PAYMENT_METHOD_MISMATCH),
        (6, RowOutcome.CONTRACT_NOT_FOUND),
        (7, RowOutcome.INSTALLMENT_NOT_FOUND),
        (8, RowOutcome.DUPLICATE),
    ]
    assert job.counts == {
        "rows": 7,
        "found": 1,
        "duplicates": 1,
        "fees_total": "5.16",
        "not_found": {
            "contract_not_found": 1,
            "amount_mismatch": 1,
            "due_date_mismatch": 1,
            "payment_method_mismatch": 1,
            "installment_not_found": 1,
        },
        "errors": 0,
    }


def test_a_near_miss_names_the_closest_installment_of_the_case(portfolio: Creditor) -> None:
    data = csv_bytes(
        INSOLUTI_HEADER,
        insoluto(amount="490,17", number="2", due="15/06/2025"),
        insoluto(due="16/07/2025", number="3"),
        insoluto(due="15/01/2035", amount="1,00", method="BON", number="4"),
    )

    job = run_file(portfolio, "compass-insoluti", data)

    closest = list(
        ImportRow.objects.filter(job=job).values_list("closest__number", "closest__due_date")
    )
    assert closest == [
        (2, date(2025, 6, 15)),  # same date and method
        (3, date(2025, 7, 15)),  # same amount and method: the row's own installment number
        (4, date(2025, 8, 15)),  # nothing agrees: the installment with the row's number
    ]


def test_a_found_installment_becomes_unpaid_with_fees_note_and_total(portfolio: Creditor) -> None:
    job = run_file(portfolio, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, insoluto()))

    installment = Installment.objects.get(number=1)
    assert (installment.status, installment.fees, installment.unpaid_on) == (
        InstallmentStatus.UNPAID,
        Decimal("5.16"),
        date(2025, 5, 24),
    )
    assert installment.unpaid_job == job
    case = Case.objects.get()
    note = Note.objects.get(case=case)
    assert note.text == "Rata 1 scad. 15/05/2025 insoluta: € 489,17 + spese di protesto € 5,16"
    assert (note.kind, note.job, note.row_number) == ("system", job, 2)
    assert case.compute_total_requested() == Decimal("494.33")
    assert case.needs_attention
    assert Case.objects.with_total_requested().get().total_requested == Decimal("494.33")


def test_an_installment_already_unpaid_is_a_duplicate_and_is_not_applied_twice(
    portfolio: Creditor,
) -> None:
    run_file(portfolio, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, insoluto()), "first.csv")

    with translation.override("en"):
        job = run_file(
            portfolio,
            "compass-insoluti",
            csv_bytes(INSOLUTI_HEADER, insoluto(fees="12,00")),
            "second.csv",
        )

    row = ImportRow.objects.get(job=job)
    assert row.outcome == RowOutcome.DUPLICATE
    assert row.message == "The installment was already reported unpaid by an earlier file."
    assert Installment.objects.get(number=1).fees == Decimal("5.16")
    assert Note.objects.count() == 1


def test_an_installment_reported_unpaid_then_paid_stays_paid_when_the_file_comes_again(
    portfolio: Creditor,
) -> None:
    """The creditor's file sent again (another line ending, so other bytes) after the debtor
    paid: the installment was reported by an earlier file, so the row is a duplicate and the
    paid installment is not made unpaid again."""
    run_file(portfolio, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, insoluto()), "first.csv")
    installment = Installment.objects.get(number=1)
    record_payment(installment.case, date(2025, 6, 1), installment.amount, "agency", None)
    installment.refresh_from_db()
    assert installment.status == InstallmentStatus.PAID

    with translation.override("en"):
        job = run_file(
            portfolio,
            "compass-insoluti",
            csv_bytes(INSOLUTI_HEADER, insoluto(), newline="\n"),
            "again.csv",
        )

    row = ImportRow.objects.get(job=job)
    assert (row.outcome, row.message) == (
        RowOutcome.DUPLICATE,
        "The installment was already reported unpaid by an earlier file.",
    )
    installment.refresh_from_db()
    assert installment.status == InstallmentStatus.PAID
    assert Note.objects.count() == 1


def test_the_same_file_again_applies_nothing_and_says_so(portfolio: Creditor) -> None:
    data = csv_bytes(INSOLUTI_HEADER, insoluto())
    first = run_file(portfolio, "compass-insoluti", data)

    with translation.override("en"):
        again = run_file(portfolio, "compass-insoluti", data)

    assert again.status == JobStatus.ALREADY_APPLIED
    assert again.duplicate_of == first
    assert "nothing was applied again" in again.error
    assert Note.objects.count() == 1
    # The bytes are not stored twice: the refused upload points at the applied one's copy.
    assert again.file.name == first.file.name
    with again.file.open("rb") as stored:
        assert stored.read() == data


def test_a_preview_matches_but_applies_nothing(portfolio: Creditor) -> None:
    job = run_file(
        portfolio, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, insoluto()), dry_run=True
    )

    assert job.counts["found"] == 1
    assert not Installment.objects.filter(status=InstallmentStatus.UNPAID).exists()
    assert not Note.objects.exists()


def test_a_failure_while_applying_leaves_the_database_as_it_was(
    portfolio: Creditor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The installments are updated before the notes are written: fail on the notes.
    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("connection lost")

    monkeypatch.setattr("imports.unpaid.insert_rows", broken)

    job = run_file(portfolio, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, insoluto()))

    assert job.status == JobStatus.FAILED
    assert not Installment.objects.filter(status=InstallmentStatus.UNPAID).exists()
    assert not Note.objects.exists()
    assert not Case.objects.filter(needs_attention=True).exists()


class PanicException(BaseException):
    """As pyo3 raises when a Rust library (calamine) panics: no Exception."""


def test_a_panic_while_reading_fails_the_job_instead_of_leaving_it_reading(
    portfolio: Creditor, monkeypatch: pytest.MonkeyPatch
) -> None:
    def panicking(*args: object, **kwargs: object) -> None:
        raise PanicException("index out of bounds")

    monkeypatch.setattr("imports.services.open_table", panicking)

    with translation.override("en"):
        job = run_file(portfolio, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, insoluto()))

    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The file could not be processed because of an internal error")
    assert not Installment.objects.filter(status=InstallmentStatus.UNPAID).exists()


def test_a_broken_row_is_reported_with_row_and_column(portfolio: Creditor) -> None:
    data = csv_bytes(INSOLUTI_HEADER, insoluto(amount="12,3,4"), insoluto(due="31/02/2025"))

    with translation.override("en"):
        job = run_file(portfolio, "compass-insoluti", data)

    assert list(ImportRow.objects.filter(job=job).values_list("outcome", "message")) == [
        (RowOutcome.ERROR, "Row 2, column IMPORTO_RATA: '12,3,4' is not an amount"),
        (
            RowOutcome.ERROR,
            "Row 3, column DATA_SCADENZA: '31/02/2025' is not a valid date (dd/mm/yyyy)",
        ),
    ]
    assert job.counts["errors"] == 2


def test_matching_costs_the_same_queries_for_ten_rows_as_for_one_hundred(
    portfolio: Creditor,
) -> None:
    def queries(rows: int, name: str) -> int:
        lines = [insoluto(contract=f"{n:010d}") for n in range(rows)]
        with CaptureQueriesContext(connection) as captured:
            run_file(portfolio, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, *lines), name)
        return len(captured)

    assert queries(10, "ten.csv") == queries(100, "hundred.csv")


def test_two_uploads_of_the_same_file_queued_together_apply_once(portfolio: Creditor) -> None:
    data = csv_bytes(INSOLUTI_HEADER, insoluto())
    layout = Layout.objects.get(slug="compass-insoluti")
    first, second = (
        submit_import(user=None, creditor=portfolio, layout=layout, name=n, data=data)
        for n in ("a.csv", "b.csv")
    )

    run_import(first.pk)
    second = run_import(second.pk)

    assert second.status == JobStatus.ALREADY_APPLIED
    assert second.duplicate_of == first
    assert Note.objects.count() == 1
    assert AuditEvent.objects.filter(action="import", object_id=str(second.pk)).exists()


def test_twin_installments_are_reported_unpaid_one_after_the_other(compass: Creditor) -> None:
    twins = [PORTFOLIO.format(n=n, m=5) for n in (1, 2)]  # same date, amount and method
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *twins), "affido.csv")
    without_number = insoluto(number="")

    first = run_file(compass, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, without_number))
    second = run_file(
        compass, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, without_number, newline="\n")
    )

    assert (first.counts["found"], second.counts["found"]) == (1, 1)
    assert Installment.objects.filter(status=InstallmentStatus.UNPAID).count() == 2
