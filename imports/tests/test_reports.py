"""A job's report: the reason given for each outcome, the summary figures and the downloads."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from openpyxl import load_workbook

from cases.models import Case
from cases.tests.factories import CaseFactory, InstallmentFactory
from creditors.models import Creditor
from imports.models import ImportJob, RowOutcome
from imports.reports import (
    euro,
    report_filename,
    row_reason,
    summary_cards,
    write_rows_csv,
    write_rows_xlsx,
)
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes, run_file

# Spreadsheet dates have no time zone: openpyxl reads them back as naive datetimes.
MAY_15, JUNE_15 = datetime(2025, 5, 15), datetime(2025, 6, 15)  # noqa: DTZ001
# One row per outcome an unpaid-installments file can give, against the cases of `make_cases`.
UNPAID_ROWS = (
    "A1;0000012345;ROSSI MARIO;;2;15/05/2025;489,17;RID;20/05/2025;5,16",  # found
    "A1;0000012345;ROSSI MARIO;;2;15/05/2025;489,17;RID;20/05/2025;5,16",  # duplicate
    "A1;0000012345;ROSSI MARIO;;3;15/06/2025;600,00;RID;;",  # amount differs
    "A1;0000067890;BIANCHI LUCA;;1;12/05/2025;120,00;BOLLETTINO;;",  # due date differs
    "A1;0000067890;BIANCHI LUCA;;1;10/05/2025;120,00;RID;;",  # payment method differs
    "A1;9999999999;VERDI ANNA;;1;10/05/2025;50,00;RID;;",  # contract not found
    "A1;0000012345;ROSSI MARIO;;;01/01/2024;1,00;CARTA;;",  # installment not found
    "A1;0000012345;ROSSI MARIO;;1;31/02/2025;1,00;RID;;",  # not a date
)


def make_case(creditor: Creditor, contract: str, *installments: tuple[Any, ...]) -> Case:
    case = CaseFactory(creditor=creditor, contract_number=contract)
    for number, due, amount, method in installments:
        InstallmentFactory(
            case=case, number=number, due_date=due, amount=Decimal(amount), payment_method=method
        )
    return case


def make_cases(creditor: Creditor) -> tuple[Case, Case]:
    rossi = make_case(
        creditor,
        "0000012345",
        (1, date(2025, 4, 15), "489.17", "SDD"),
        (2, date(2025, 5, 15), "489.17", "SDD"),
        (3, date(2025, 6, 15), "590.99", "SDD"),
    )
    bianchi = make_case(creditor, "0000067890", (1, date(2025, 5, 10), "120.00", "BOL"))
    return rossi, bianchi


def unpaid_file(*rows: str) -> bytes:
    """A Compass unpaid-installments file as Compass sends it: Windows-1252, `;`, CRLF."""
    return csv_bytes(INSOLUTI_HEADER, *rows)


def acquisition_file(*rows: str) -> bytes:
    return csv_bytes(AFFIDO_HEADER, *rows, encoding="utf-8")


def run_unpaid_job(creditor: Creditor, data: bytes | None = None, **kwargs: Any) -> ImportJob:
    data = unpaid_file(*UNPAID_ROWS) if data is None else data
    return run_file(creditor, "compass-insoluti", data, "insoluti_maggio.csv", **kwargs)


@pytest.fixture(autouse=True)
def media_in_tmp(settings: pytest.FixtureRequest, tmp_path: object) -> None:
    settings.MEDIA_ROOT = tmp_path  # type: ignore[attr-defined]


@pytest.fixture
def unpaid_job(compass: Creditor) -> ImportJob:
    """The job runs in English: the reasons it stores are written in the language it runs in."""
    make_cases(compass)
    with translation.override("en"):
        return run_unpaid_job(compass)


def test_euro_is_italian_whatever_the_language() -> None:
    with translation.override("en"):
        assert euro(Decimal("1234.5")) == "€ 1.234,50"
        assert euro(Decimal("-0.99")) == "€ -0,99"
        assert euro(None) == ""


def test_each_outcome_has_a_reason_naming_the_installment(unpaid_job: ImportJob) -> None:
    with translation.override("en"):
        reasons = {row.number: (row.outcome, row_reason(row)) for row in unpaid_job.rows.all()}

    assert reasons == {
        2: (RowOutcome.FOUND, "Installment 2 of the case"),
        3: (
            RowOutcome.DUPLICATE,
            "The same installment is reported on an earlier row of this file.",
        ),
        4: (RowOutcome.AMOUNT_MISMATCH, "Amount differs from installment 3 (€ 590,99)"),
        5: (RowOutcome.DUE_DATE_MISMATCH, "Due date differs from installment 1 (10/05/2025)"),
        6: (RowOutcome.PAYMENT_METHOD_MISMATCH, "Payment method differs from installment 1 (BOL)"),
        7: (
            RowOutcome.CONTRACT_NOT_FOUND,
            "No open case of this creditor has contract 9999999999.",
        ),
        8: (
            RowOutcome.INSTALLMENT_NOT_FOUND,
            "No installment has this due date, amount or payment method; the closest is "
            "installment 1.",
        ),
        9: (RowOutcome.ERROR, reasons[9][1]),
    }
    assert reasons[9][1].startswith("Row 9, column DATA_SCADENZA: ")


def test_summary_cards_of_an_unpaid_job(unpaid_job: ImportJob) -> None:
    with translation.override("en"):
        cards = {card.label: card.value for card in summary_cards(unpaid_job)}

    assert cards == {
        "Rows read": "8",
        "Installments found": "1",
        "Duplicates": "1",
        "Protest fees of the installments found": "€ 5,16",
        "Contract not found": "1",
        "Amount differs": "1",
        "Due date differs": "1",
        "Payment method differs": "1",
        "Installment not found": "1",
        "Rows not valid": "1",
    }


def test_report_file_names(unpaid_job: ImportJob) -> None:
    assert report_filename(unpaid_job, "xlsx") == f"insoluti-job-{unpaid_job.pk}.xlsx"


def test_xlsx_has_every_row_with_real_dates_and_amounts(
    unpaid_job: ImportJob, django_assert_max_num_queries: object
) -> None:
    stream = io.BytesIO()
    with translation.override("en"), django_assert_max_num_queries(2):  # type: ignore[operator]
        write_rows_xlsx(unpaid_job, stream)

    sheet = load_workbook(stream).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Row",
        "Contract",
        "Installment",
        "Due date",
        "Amount",
        "Method",
        "Fees",
        "Outcome",
        "Reason",
        "Closest installment",
        "Closest installment due date",
        "Closest installment amount",
        "Closest installment method",
    )
    assert len(rows) == 9
    assert rows[1] == (
        2,
        "0000012345",
        2,
        MAY_15,
        489.17,
        "SDD",
        5.16,
        "Found",
        "Installment 2 of the case",
        2,
        MAY_15,
        489.17,
        "SDD",
    )
    assert rows[3][7:] == (
        "Amount differs",
        "Amount differs from installment 3 (€ 590,99)",
        3,
        JUNE_15,
        590.99,
        "SDD",
    )
    assert rows[6][:2] == (7, "9999999999")
    assert rows[6][9:] == (None, None, None, None)
    assert sheet["E2"].number_format == "#,##0.00"
    assert sheet["D2"].is_date


def test_csv_is_what_italian_excel_opens(unpaid_job: ImportJob) -> None:
    stream = io.BytesIO()
    with translation.override("en"):
        write_rows_csv(unpaid_job, stream)

    data = stream.getvalue()
    assert data.startswith(b"\xef\xbb\xbfRow;Contract;Installment;Due date;")
    assert data.count(b"\r\n") == 9
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[1] == [
        "2",
        "0000012345",
        "2",
        "15/05/2025",
        "489,17",
        "SDD",
        "5,16",
        "Found",
        "Installment 2 of the case",
        "2",
        "15/05/2025",
        "489,17",
        "SDD",
    ]
    assert rows[5] == [
        "6",
        "0000067890",
        "1",
        "10/05/2025",
        "120,00",
        "SDD",
        "0,00",
        "Payment method differs",
        "Payment method differs from installment 1 (BOL)",
        "1",
        "10/05/2025",
        "120,00",
        "BOL",
    ]
    assert rows[8][:3] == ["9", "0000012345", ""]
    assert rows[8][7] == "Row not valid"


def test_text_from_the_file_never_becomes_a_formula(compass: Creditor) -> None:
    job = run_unpaid_job(compass, unpaid_file("A1;=1+1;X;;1;15/05/2025;1,00;RID;;"))
    xlsx, text = io.BytesIO(), io.BytesIO()

    write_rows_xlsx(job, xlsx)
    write_rows_csv(job, text)

    cell = load_workbook(xlsx).active["B2"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")
    assert text.getvalue().decode("utf-8-sig").splitlines()[1].split(";")[1] == "'=1+1"


def test_acquisition_report_has_its_own_columns(compass: Creditor) -> None:
    data = acquisition_file(
        "L7;123;ROSSI MARIO;RSSMRA80A01H501U;VIA ROMA 1;00100;ROMA;RM;;;;;1;15/05/2025;100,00;RID"
    )
    job = run_file(compass, "compass-affido", data, "affido.csv")
    stream = io.BytesIO()

    with translation.override("en"):
        write_rows_csv(job, stream)

    rows = list(csv.reader(io.StringIO(stream.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert rows == [
        ["Row", "Contract", "Outcome", "Reason"],
        ["2", "0000000123", "Case created", ""],
    ]
    assert report_filename(job, "csv") == f"affido-job-{job.pk}.csv"
