"""Pre-invoice files through the pages and the API: upload, results, downloads, preview then
confirm, and nothing of one creditor shown to another's users."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import User
from billing.models import PreInvoice
from cases.models import Payment, PaymentAllocation, PaymentEvent
from cases.tests.factories import BatchFactory
from creditors.models import Batch, Creditor
from imports.models import ImportJob, JobStatus, Layout, RowOutcome
from imports.services import confirm_preview, run_import
from imports.tests.helpers import run_file
from imports.tests.snapshots import EXACT_MODELS
from imports.tests.test_prefattura import make_case, prefattura
from imports.tests.test_views import client_for

pytestmark = pytest.mark.django_db

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
ROWS = prefattura(
    "CMP-9;0010000001;ROSSI MARIO;20/02/2025;100,00",
    "CMP-9;0010000001;ROSSI MARIO;20/03/2025;150,00",
    "CMP-9;0010000404;;20/03/2025;10,00",
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    settings.TASKS = IMMEDIATE


@pytest.fixture
def batch(compass: Creditor) -> Batch:
    batch = BatchFactory(creditor=compass, code="CMP-9", assigned_on=date(2025, 1, 10))
    make_case(batch, "0010000001", "100.00", "100.00")
    return batch


@pytest.fixture
def job(compass: Creditor, batch: Batch) -> ImportJob:
    return run_file(compass, "prefattura", ROWS, "prefattura.csv")


def written() -> dict[str, set[tuple[Any, ...]]]:
    """The tables a pre-invoice job writes, without ids: what two runs must agree on."""
    models_: tuple[type[models.Model], ...] = (
        *EXACT_MODELS,
        Payment,
        PaymentAllocation,
        PaymentEvent,
        PreInvoice,
    )
    return {
        model._meta.label: {
            tuple(
                value
                for field, value in zip(model._meta.concrete_fields, row, strict=True)
                if not (field.primary_key or field.name.endswith("job") or field.is_relation)
                and field.name not in ("at", "created_at")
            )
            for row in model.objects.values_list(*(f.attname for f in model._meta.concrete_fields))
        }
        for model in models_
    }


def test_upload_page_preselects_the_pre_invoice_layout(back_office: User, batch: Batch) -> None:
    response = client_for(back_office).get(reverse("imports:upload", args=["pre_invoice"]))

    assert response.status_code == 200
    assert '<h1 class="h3 mb-3">Pre-invoice check</h1>' in response.content.decode()
    assert response.context["form"]["layout"].value() == Layout.objects.get(slug="prefattura").pk


def test_navbar_links_the_pre_invoice_upload(back_office: User) -> None:
    response = client_for(back_office).get(reverse("imports:list"))

    assert reverse("imports:upload", args=["pre_invoice"]) in response.content.decode()


def test_upload_applies_the_file_and_shows_its_results(
    back_office: User, compass: Creditor, batch: Batch, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(back_office)
    form = {
        "creditor": compass.pk,
        "layout": Layout.objects.get(slug="prefattura").pk,
        "file": SimpleUploadedFile("prefattura.csv", ROWS, content_type="text/csv"),
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:upload", args=["pre_invoice"]), form)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    page = client.get(reverse("imports:job", args=[job.pk]))
    cards = {card.label: card.value for card in page.context["cards"]}
    assert (cards["Payments matched"], cards["Amount not matched"], cards["Collected"]) == (
        "1",
        "1",
        "€ 100,00",
    )
    assert "The creditor has no case with contract 0010000404." in page.content.decode()
    # The page leads on to the draft pre-invoice the file's payments were put in.
    pre_invoice = PreInvoice.objects.get(job=job)
    link = reverse("billing:pre-invoice-detail", args=[pre_invoice.pk])
    assert f'<a href="{link}">{pre_invoice}</a> (draft)' in page.content.decode()


@pytest.mark.parametrize("name", ["imports:job", "imports:job-undo"])
def test_other_creditors_user_gets_not_found(
    other_operator: User, job: ImportJob, name: str
) -> None:
    assert client_for(other_operator).get(reverse(name, args=[job.pk])).status_code == 404


def test_other_creditors_user_cannot_download_the_report(
    other_operator: User, job: ImportJob
) -> None:
    url = reverse("imports:job-download", kwargs={"pk": job.pk, "fmt": "csv"})

    assert client_for(other_operator).get(url).status_code == 404


def test_csv_report_gives_reason_and_closest_installment(back_office: User, job: ImportJob) -> None:
    url = reverse("imports:job-download", kwargs={"pk": job.pk, "fmt": "csv"})

    response = client_for(back_office).get(url)

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert response["Content-Disposition"].endswith(f'prefattura-job-{job.pk}.csv"')
    assert [(r["Contract"], r["Outcome"]) for r in rows] == [
        ("0010000001", "Payment matched"),
        ("0010000001", "Amount not matched"),
        ("0010000404", "Contract not found"),
    ]
    assert rows[1]["Closest installment"] == "2"
    assert rows[1]["Reason"].startswith("No payment or open installments add up to € 150")
    assert rows[2]["Reason"] == "The creditor has no case with contract 0010000404."


def test_xlsx_report_has_the_pre_invoice_columns(back_office: User, job: ImportJob) -> None:
    url = reverse("imports:job-download", kwargs={"pk": job.pk, "fmt": "xlsx"})

    response = client_for(back_office).get(url)

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet is not None
    header, first = list(sheet.iter_rows(max_row=2, values_only=True))
    assert header[:9] == (
        "Row",
        "Batch",
        "Contract",
        "Name",
        "Paid on",
        "Amount",
        "Outcome",
        "Reason",
        "Commission",
    )
    assert first[:6] == (2, "CMP-9", "0010000001", "ROSSI MARIO", first[4], Decimal("100"))


def test_preview_then_confirm_gives_what_a_direct_run_gives(
    back_office: User, compass: Creditor, batch: Batch
) -> None:
    before = written()
    with transaction.atomic():
        direct = run_file(compass, "prefattura", ROWS, "direct.csv")
        direct_result = (direct.counts, written())
        transaction.set_rollback(True)
    assert written() == before

    preview = run_file(compass, "prefattura", ROWS, "prefattura.csv", dry_run=True)
    assert written() == before
    assert list(preview.rows.order_by("number").values_list("outcome", flat=True)) == [
        RowOutcome.MATCHED,
        RowOutcome.AMOUNT_NOT_MATCHED,
        RowOutcome.CONTRACT_NOT_FOUND,
    ]
    job = run_import(confirm_preview(preview, back_office).pk)

    assert job.status == JobStatus.DONE
    without_link = {k: v for k, v in direct.counts.items() if k != "pre_invoice"}
    assert {k: v for k, v in preview.counts.items() if k != "pre_invoice"} == without_link
    assert ({k: v for k, v in job.counts.items() if k != "pre_invoice"}, written()) == (
        without_link,
        direct_result[1],
    )


def test_api_upload_with_the_pre_invoice_layout(
    back_office: User, batch: Batch, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(back_office)
    file = SimpleUploadedFile("prefattura.csv", ROWS, content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("api:import-job-list"),
            {"creditor": "COMPASS", "layout": "prefattura", "file": file},
        )

    assert response.status_code == 201
    body = client.get(response["Location"]).json()
    assert (body["status"], body["kind"]) == ("done", "pre_invoice")
    assert body["counts"]["matched"] == 1
