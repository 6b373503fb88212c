"""A bad upload gets one clear message and changes nothing."""

from __future__ import annotations

import io

import pytest
from django.utils import translation
from openpyxl import Workbook

from cases.models import Installment, InstallmentStatus, Note
from creditors.models import Creditor
from imports.models import ImportRow, JobStatus, Layout
from imports.services import SubmitError, fail_interrupted_jobs, submit_import
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes, run_file

pytestmark = pytest.mark.django_db

AFFIDO_ROW = (
    "CMP-1;0010019418;SANGUINETI TEMISTOCLE;SNGTST56P19D292A;VIA PO 3;10124;TORINO;TO;;;;"
    "PRESTITO PERSONALE;1;15/05/2025;489,17;SDD"
)
INSOLUTO = "A0417;0010019418;SANGUINETI TEMISTOCLE;;1;15/05/2025;489,17;SDD;24/05/2025;5,16"


@pytest.fixture
def portfolio(compass: Creditor) -> Creditor:
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, AFFIDO_ROW), "affido.csv")
    return compass


def assert_nothing_changed() -> None:
    assert not Installment.objects.filter(status=InstallmentStatus.UNPAID).exists()
    assert not Note.objects.exists()


def other_layout_workbook() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Lotto", "Contratto", "Nominativo", "DataPagamento", "Importo"])
    sheet.append(["CMP-1", "0010019418", "", "20/05/2025", 489.17])
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def test_an_empty_upload_is_refused_before_anything_is_stored(portfolio: Creditor) -> None:
    with translation.override("en"), pytest.raises(SubmitError, match="is empty"):
        submit_import(
            user=None,
            creditor=portfolio,
            layout=Layout.objects.get(slug="compass-insoluti"),
            name="vuoto.csv",
            data=b"",
        )


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("blank.csv", b"\xef\xbb\xbf  \r\n", "The file is empty."),
        (
            "scan.pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\x00\x00",
            "This file is a PDF document, not a spreadsheet: export the data as an Excel "
            "Workbook (.xlsx) or a CSV file.",
        ),
        (
            "prefattura.xlsx",
            other_layout_workbook(),
            "The file does not fit the layout “Compass — insoluti”: column(s) NUM_PRATICA, "
            "DATA_SCADENZA, IMPORTO_RATA, MOD_PAGAMENTO, DATA_INSOLUTO, SPESE_PROTESTO not found. "
            "Columns in the file: Lotto, "
            "Contratto, Nominativo, DataPagamento, Importo.",
        ),
    ],
)
def test_a_file_that_cannot_be_read_fails_with_one_clear_message(
    portfolio: Creditor, name: str, data: bytes, message: str
) -> None:
    with translation.override("en"):
        job = run_file(portfolio, "compass-insoluti", data, name)

    assert job.status == JobStatus.FAILED
    assert job.error == message
    assert not ImportRow.objects.filter(job=job).exists()
    assert_nothing_changed()


def test_a_spreadsheet_cut_in_the_middle_fails_and_changes_nothing(portfolio: Creditor) -> None:
    workbook = Workbook()
    workbook.active.append(INSOLUTI_HEADER.split(";"))
    workbook.active.append(INSOLUTO.split(";"))
    stream = io.BytesIO()
    workbook.save(stream)
    cut = stream.getvalue()[: len(stream.getvalue()) // 2]

    with translation.override("en"):
        job = run_file(portfolio, "compass-insoluti", cut, "insoluti.xlsx")

    assert job.status == JobStatus.FAILED
    assert "damaged or incomplete" in job.error
    assert_nothing_changed()


def test_a_csv_cut_in_the_middle_of_a_row_fails_and_changes_nothing(portfolio: Creditor) -> None:
    data = csv_bytes(INSOLUTI_HEADER, INSOLUTO, INSOLUTO.replace(";1;", ";2;"))
    cut = data[: -len(b";24/05/2025;5,16\r\n")]

    with translation.override("en"):
        job = run_file(portfolio, "compass-insoluti", cut, "insoluti.csv")

    assert job.status == JobStatus.FAILED
    assert job.error == (
        "The file ends in the middle of row 3 (8 of 10 columns): it looks cut off. "
        "Nothing was applied; send the complete file."
    )
    assert_nothing_changed()


def test_a_job_cut_off_by_a_stopped_worker_is_failed_at_the_next_start(
    portfolio: Creditor,
) -> None:
    job = submit_import(
        user=None,
        creditor=portfolio,
        layout=Layout.objects.get(slug="compass-insoluti"),
        name="insoluti.csv",
        data=csv_bytes(INSOLUTI_HEADER, INSOLUTO),
    )
    job.status = JobStatus.APPLYING
    job.save()

    with translation.override("en"):
        assert fail_interrupted_jobs() == 1

    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.error.startswith(
        "The job was interrupted (the worker stopped); nothing was applied."
    )
    assert_nothing_changed()


def test_a_portfolio_uploaded_as_unpaid_installments_fails_and_marks_nothing(
    portfolio: Creditor,
) -> None:
    with translation.override("en"):
        job = run_file(
            portfolio, "compass-insoluti", csv_bytes(AFFIDO_HEADER, AFFIDO_ROW, newline="\n")
        )

    assert job.status == JobStatus.FAILED
    assert "column(s) DATA_INSOLUTO, SPESE_PROTESTO not found" in job.error
    assert_nothing_changed()


def test_a_file_mostly_utf8_with_a_stray_windows_byte_is_refused(portfolio: Creditor) -> None:
    data = csv_bytes(
        INSOLUTI_HEADER, INSOLUTO.replace("SANGUINETI", "SANGUINETÌ"), encoding="utf-8"
    )
    data += INSOLUTO.replace("SANGUINETI", "SANGUINET\xcc").encode("cp1252") + b"\r\n"

    with translation.override("en"):
        job = run_file(portfolio, "compass-insoluti", data, "mixed.csv")

    assert job.status == JobStatus.FAILED
    assert job.error.startswith("The file mixes two encodings: it is mostly UTF-8, but row 3 ")
    assert_nothing_changed()


def test_a_column_named_twice_is_refused(portfolio: Creditor) -> None:
    header = INSOLUTI_HEADER + ";NUM_PRATICA"
    with translation.override("en"):
        job = run_file(portfolio, "compass-insoluti", csv_bytes(header, INSOLUTO + ";0099"))

    assert job.status == JobStatus.FAILED
    assert job.error == (
        "The file has the column NUM_PRATICA more than once: keep one and upload it again."
    )
    assert_nothing_changed()
