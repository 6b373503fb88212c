"""A creditor's totals line at the foot of a file is neither a row in error nor a payment: it
is left out of the rows, and its amount is set beside the sum of the rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from accounts.models import User
from cases.models import Case, Payment
from cases.tests.factories import BatchFactory
from creditors.models import Batch, Creditor
from imports.models import ImportRow, JobStatus, RowOutcome
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes, run_file
from imports.tests.test_acquisition import ROWS as AFFIDO_ROWS
from imports.tests.test_prefattura import make_case, prefattura
from imports.tests.test_unpaid import PORTFOLIO, insoluto
from imports.tests.test_views import client_for
from imports.totals import totals_message

pytestmark = pytest.mark.django_db

PAYMENTS = (
    "CMP-9;0010000001;ROSSI MARIO;20/02/2025;100,00",
    "CMP-9;0010000002;;20/02/2025;250,50",
    "CMP-9;0010000404;;20/03/2025;10,00",
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def batch(compass: Creditor) -> Batch:
    batch = BatchFactory(creditor=compass, code="CMP-9", assigned_on=date(2025, 1, 10))
    make_case(batch, "0010000001", "100.00", "100.00")
    make_case(batch, "0010000002", "250.50")
    return batch


def test_a_totals_line_that_agrees_is_left_out_of_the_rows(compass: Creditor, batch: Batch) -> None:
    job = run_file(compass, "prefattura", prefattura(*PAYMENTS, ";;Totale;;360,50"))

    assert job.status == JobStatus.DONE
    assert (job.counts["rows"], job.counts["matched"], job.counts["errors"]) == (3, 2, 0)
    assert job.counts["not_found"]["contract_not_found"] == 1
    assert job.counts["totals_line"] == {
        "rows": [5],
        "stated": "360.50",
        "rows_sum": "360.50",
        "agrees": True,
        "rows_without_amount": 0,
    }
    assert list(job.rows.order_by("number").values_list("number", flat=True)) == [2, 3, 4]
    assert Payment.objects.count() == 2
    with translation.override("en"):
        assert totals_message(job.counts) == (
            "Row 5 is the file's totals line: it was not read as a payment or case. "
            "It states € 360.50, the sum of the rows."
        )


def test_a_totals_line_that_differs_states_the_difference(compass: Creditor, batch: Batch) -> None:
    lines = (*PAYMENTS, "CMP-9;0010000002;;20/02/2025;12,3,4", "TOTALE;;;;1.000,00")

    job = run_file(compass, "prefattura", prefattura(*lines))

    assert job.counts["errors"] == 1
    totals = job.counts["totals_line"]
    assert (totals["rows"], totals["rows_sum"], totals["agrees"]) == ([6], "360.50", False)
    assert totals["rows_without_amount"] == 1
    with translation.override("en"):
        assert totals_message(job.counts) == (
            "Row 6 is the file's totals line: it was not read as a payment or case. "
            "It states € 1,000.00 but the rows add up to € 360.50: a difference of € 639.50. "
            "1 row without a valid amount is not in the sum."
        )


def test_the_word_in_the_contract_column_and_in_a_spreadsheet(
    compass: Creditor, batch: Batch, tmp_path: Any
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Lotto", "Contratto", "Nominativo", "DataPagamento", "Importo"])
    sheet.append(["CMP-9", "0010000001", None, date(2025, 2, 20), 100])
    sheet.append(["CMP-9", "Totale lotto CMP-9", None, None, 100])
    sheet.append([None, "TOTALE:", None, None, 100])
    target = tmp_path / "prefattura.xlsx"
    workbook.save(target)

    job = run_file(compass, "prefattura", target.read_bytes(), "prefattura.xlsx")

    assert (job.counts["rows"], job.counts["matched"], job.counts["errors"]) == (1, 1, 0)
    assert job.counts["totals_line"]["rows"] == [3, 4]
    assert job.counts["totals_line"]["agrees"] is True


def test_a_name_or_a_row_with_a_contract_is_never_taken_for_a_totals_line(
    compass: Creditor, batch: Batch
) -> None:
    # "Totaro" is a surname; a row with a contract is a payment whatever its name says.
    lines = (";;TOTARO ANNA;20/02/2025;100,00", "CMP-9;0010000001;TOTALE SRL;20/02/2025;100,00")

    job = run_file(compass, "prefattura", prefattura(*lines))

    assert "totals_line" not in job.counts
    assert list(job.rows.order_by("number").values_list("number", "outcome")) == [
        (2, RowOutcome.ERROR),
        (3, RowOutcome.MATCHED),
    ]


def test_a_contract_starting_with_tot_or_a_note_the_layout_does_not_read_decides_nothing(
    compass: Creditor, batch: Batch
) -> None:
    # A contract number such as TOT0020931 is a contract; "Totale" in a column the layout does
    # not map (the creditor's notes) does not make a row without a contract a totals line.
    data = csv_bytes(
        "Lotto;Contratto;Nominativo;DataPagamento;Importo;Note",
        "CMP-9;TOT0020931;;20/02/2025;100,00;",
        ";;;20/02/2025;100,00;Totale da verificare",
        "CMP-9;0010000001;;20/02/2025;100,00;totale saldato",
    )

    job = run_file(compass, "prefattura", data)

    assert "totals_line" not in job.counts
    assert job.counts["not_found"]["contract_not_found"] == 1
    assert list(job.rows.order_by("number").values_list("number", "outcome")) == [
        (2, RowOutcome.CONTRACT_NOT_FOUND),
        (3, RowOutcome.ERROR),
        (4, RowOutcome.MATCHED),
    ]


def test_contract_numbers_written_with_tot_and_a_separator_are_contracts(
    compass: Creditor, batch: Batch
) -> None:
    contracts = ("TOT-0020931", "TOT.0020931", "TOT 0020931", "TOT_0020931", "TOT0020931")
    lines = [f"CMP-9;{contract};;20/02/2025;100,00" for contract in contracts]

    job = run_file(compass, "prefattura", prefattura(*lines, "CMP-9;;TOT ANNA;20/02/2025;1,00"))

    assert "totals_line" not in job.counts
    assert job.counts["not_found"]["contract_not_found"] == 5
    # A row without a contract is an error, whatever its name starts with.
    assert job.rows.get(number=7).outcome == RowOutcome.ERROR


def test_the_word_in_a_column_the_layout_does_not_read_on_a_row_of_amounts_only(
    compass: Creditor,
) -> None:
    """Compass unpaid files start with COD_AGENZIA, which the layout does not read: the
    creditor's totals label goes there, with nothing but amounts in the columns read."""
    rows = [PORTFOLIO.format(n=n, m=n + 4) for n in range(1, 6)]
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, *rows), "affido.csv")
    data = csv_bytes(INSOLUTI_HEADER, insoluto(), "TOTALE;;;;;;489,17;;;5,16")

    job = run_file(compass, "compass-insoluti", data)

    assert (job.counts["rows"], job.counts["found"], job.counts["errors"]) == (1, 1, 0)
    assert job.counts["totals_line"]["rows"] == [3]
    assert job.counts["totals_line"]["agrees"] is True


def test_an_unpaid_file_and_a_portfolio_leave_it_out_too(compass: Creditor) -> None:
    portfolio = csv_bytes(AFFIDO_HEADER, *AFFIDO_ROWS, "Totale generale;;;;;;;;;;;;;;1.666,52;")

    job = run_file(compass, "compass-affido", portfolio)

    assert (job.counts["rows"], job.counts["cases_created"], job.counts["errors"]) == (3, 2, 0)
    # A portfolio's rows do not keep their amounts: the line is named, not summed.
    assert job.counts["totals_line"] == {"rows": [5], "stated": "1666.52"}
    assert not ImportRow.objects.filter(job=job, number=5).exists()
    assert Case.objects.count() == 2


def test_the_job_page_shows_it(compass: Creditor, batch: Batch, back_office: User) -> None:
    job = run_file(compass, "prefattura", prefattura(*PAYMENTS, ";;Totale;;999,00"))

    page = client_for(back_office).get(reverse("imports:job", args=[job.pk]))

    assert page.status_code == 200
    assert page.context["totals_differ"] is True
    assert (
        "It states € 999.00 but the rows add up to € 360.50: a difference of € 638.50."
        in page.content.decode()
    )
