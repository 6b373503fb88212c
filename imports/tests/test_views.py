"""The import pages: upload, follow a job, read its results and download them, per persona."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import User
from cases.models import Case, Installment, InstallmentStatus, Note
from creditors.models import Creditor
from imports.models import ImportJob, ImportKind, ImportRow, JobStatus, Layout, RowOutcome
from imports.tests.test_reports import (
    UNPAID_ROWS,
    acquisition_file,
    make_case,
    make_cases,
    run_unpaid_job,
    unpaid_file,
)

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Jobs run inside the request that enqueues them, as soon as it commits."""
    settings.TASKS = IMMEDIATE


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    # English, so the assertions hold whatever the Italian catalogue says.
    client.cookies["django_language"] = "en"
    return client


def upload(
    client: Client,
    creditor: Creditor,
    data: bytes,
    *,
    name: str = "insoluti_maggio.csv",
    layout: str = "compass-insoluti",
    kind: str = "unpaid",
    dry_run: bool = False,
) -> Any:
    form = {
        "creditor": creditor.pk,
        "layout": Layout.objects.get(slug=layout).pk,
        "file": SimpleUploadedFile(name, data, content_type="text/csv"),
    }
    if dry_run:
        form["dry_run"] = "on"
    return client.post(reverse("imports:upload", args=[kind]), form)


def job_url(job: ImportJob, name: str = "imports:job", **kwargs: Any) -> str:
    return reverse(name, kwargs={"pk": job.pk, **kwargs})


def statuses(*cases: Case) -> list[tuple[Any, ...]]:
    return list(
        Installment.objects.filter(case__in=cases)
        .order_by("id")
        .values_list("id", "status", "fees", "unpaid_on", "unpaid_job")
    )


@pytest.fixture
def unpaid_job(compass: Creditor, back_office: User) -> ImportJob:
    make_cases(compass)
    return run_unpaid_job(compass)


# Upload page


def test_upload_page_offers_the_users_creditors_and_the_compass_preset(
    back_office: User, axactor: Creditor
) -> None:
    response = client_for(back_office).get(reverse("imports:upload", args=["unpaid"]))

    assert response.status_code == 200
    assert '<h1 class="h3 mb-3">Unpaid installments update</h1>' in response.content.decode()
    form = response.context["form"]
    assert list(form.fields["creditor"].queryset) == [back_office.creditors.get()]
    assert form["layout"].value() == Layout.objects.get(slug="compass-insoluti").pk
    assert form["creditor"].value() == back_office.creditors.get().pk
    assert "Preview only (apply nothing)" in response.content.decode()


def test_acquisition_upload_page_offers_acquisition_layouts(back_office: User) -> None:
    response = client_for(back_office).get(reverse("imports:upload", args=["acquisition"]))

    assert "<title>Portfolio acquisition · Incasso</title>" in response.content.decode()
    form = response.context["form"]
    assert {layout.kind for layout in form.fields["layout"].queryset} == {ImportKind.ACQUISITION}
    assert form["layout"].value() == Layout.objects.get(slug="compass-affido").pk


def test_unknown_kind_is_not_found(back_office: User) -> None:
    assert client_for(back_office).get("/imports/upload/payments/").status_code == 404


def test_layouts_follow_the_chosen_creditor(
    admin_user: User, compass: Creditor, axactor: Creditor
) -> None:
    own = Layout.objects.create(
        slug="axactor-insoluti", name="Axactor insoluti", kind="unpaid", creditor=axactor
    )

    url = reverse("imports:upload", args=["unpaid"])
    for_axactor = client_for(admin_user).get(url, {"creditor": axactor.pk}).context["form"]
    for_compass = client_for(admin_user).get(url, {"creditor": compass.pk}).context["form"]

    assert own in for_axactor.fields["layout"].queryset
    assert own not in for_compass.fields["layout"].queryset
    assert "Axactor insoluti (AXACTOR)" in str(for_axactor["layout"])


@pytest.mark.parametrize("persona", ["operator", "other_operator"])
def test_operators_may_not_upload(
    persona: str, request: pytest.FixtureRequest, compass: Creditor
) -> None:
    client = client_for(request.getfixturevalue(persona))

    assert client.get(reverse("imports:upload", args=["unpaid"])).status_code == 403
    assert upload(client, compass, unpaid_file(*UNPAID_ROWS)).status_code == 403
    assert not ImportJob.objects.exists()


def test_anonymous_is_sent_to_log_in(client: Client) -> None:
    response = client.get(reverse("imports:upload", args=["unpaid"]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.usefixtures("immediate_tasks")
def test_upload_runs_the_job_and_shows_its_page(
    back_office: User, compass: Creditor, django_capture_on_commit_callbacks: Any
) -> None:
    rossi, _bianchi = make_cases(compass)
    client = client_for(back_office)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, compass, unpaid_file(*UNPAID_ROWS))

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job_url(job)
    assert (job.status, job.created_by, job.original_name) == (
        JobStatus.DONE,
        back_office,
        "insoluti_maggio.csv",
    )
    installment = rossi.installments.get(number=2)
    assert (installment.status, installment.fees) == (InstallmentStatus.UNPAID, Decimal("5.16"))


@pytest.mark.usefixtures("immediate_tasks")
def test_preview_changes_nothing(
    back_office: User, compass: Creditor, django_capture_on_commit_callbacks: Any
) -> None:
    cases = make_cases(compass)
    before = statuses(*cases)

    with django_capture_on_commit_callbacks(execute=True):
        upload(client_for(back_office), compass, unpaid_file(*UNPAID_ROWS), dry_run=True)

    job = ImportJob.objects.get()
    assert (job.dry_run, job.status, job.counts["found"]) == (True, JobStatus.DONE, 1)
    assert statuses(*cases) == before
    page = client_for(back_office).get(job_url(job)).content.decode()
    assert "This was a preview: the figures show what the file would change" in page


def test_creditors_the_user_may_not_see_are_refused(back_office: User, axactor: Creditor) -> None:
    response = upload(client_for(back_office), axactor, unpaid_file(*UNPAID_ROWS))

    assert response.status_code == 200
    assert response.context["form"].errors["creditor"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert axactor.name not in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_layout_of_another_creditor_is_refused(
    admin_user: User, compass: Creditor, axactor: Creditor
) -> None:
    Layout.objects.create(
        slug="axactor-insoluti", name="Axactor insoluti", kind="unpaid", creditor=axactor
    )

    response = upload(
        client_for(admin_user), compass, unpaid_file(*UNPAID_ROWS), layout="axactor-insoluti"
    )

    assert response.context["form"].errors["layout"] == [
        "The layout “Axactor insoluti” is for AXACTOR, not for COMPASS."
    ]
    assert not ImportJob.objects.exists()


def test_a_layout_of_another_kind_is_refused(back_office: User, compass: Creditor) -> None:
    response = upload(
        client_for(back_office), compass, unpaid_file(*UNPAID_ROWS), layout="compass-affido"
    )

    assert "layout" in response.context["form"].errors
    assert not ImportJob.objects.exists()


def test_an_empty_file_is_refused(back_office: User, compass: Creditor) -> None:
    response = upload(client_for(back_office), compass, b"", name="vuoto.csv")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["The file “vuoto.csv” is empty."]
    assert "The file “vuoto.csv” is empty." in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_too_large_is_refused(back_office: User, compass: Creditor, settings: Any) -> None:
    settings.INCASSO_MAX_UPLOAD_BYTES = 1024

    response = upload(client_for(back_office), compass, b"x" * 2048)

    assert response.context["form"].errors["file"] == [
        "The file is 2.0\xa0KB; the largest file accepted is 1.0\xa0KB."
    ]
    assert not ImportJob.objects.exists()


@pytest.mark.usefixtures("immediate_tasks")
def test_the_same_file_twice_is_applied_once(
    back_office: User, compass: Creditor, django_capture_on_commit_callbacks: Any
) -> None:
    cases = make_cases(compass)
    client = client_for(back_office)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, compass, unpaid_file(*UNPAID_ROWS))
    first = ImportJob.objects.get()
    after_first = statuses(*cases)
    notes = Note.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, compass, unpaid_file(*UNPAID_ROWS))

    second = ImportJob.objects.exclude(pk=first.pk).get()
    assert (second.status, second.duplicate_of) == (JobStatus.ALREADY_APPLIED, first)
    assert statuses(*cases) == after_first
    assert Note.objects.count() == notes
    page = client.get(response["Location"]).content.decode()
    assert f"This file was already applied by job #{first.pk} on " in page
    assert "nothing was applied again." in page
    assert f'href="{job_url(first)}"' in page
    assert 'id="job-progress"' not in page


# Job page and progress


def test_progress_polls_while_the_job_runs(back_office: User, compass: Creditor) -> None:
    job = ImportJob.objects.create(
        creditor=compass,
        layout=Layout.objects.get(slug="compass-insoluti"),
        kind=ImportKind.UNPAID,
        original_name="insoluti.csv",
        status=JobStatus.READING,
        rows_total=200,
        rows_done=50,
    )
    client = client_for(back_office)

    page = client.get(job_url(job)).content.decode()
    partial = client.get(job_url(job, "imports:job-progress"), HTTP_HX_REQUEST="true")

    assert f'hx-get="{job_url(job, "imports:job-progress")}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert "HX-Refresh" not in partial
    content = partial.content.decode()
    assert 'role="progressbar"' in content
    assert 'aria-valuenow="25"' in content
    assert "50 rows read" in content


def test_progress_asks_the_page_to_reload_once_finished(
    unpaid_job: ImportJob, back_office: User
) -> None:
    response = client_for(back_office).get(
        job_url(unpaid_job, "imports:job-progress"), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert "hx-trigger" not in response.content.decode()


def test_results_show_counts_and_reasons(unpaid_job: ImportJob, back_office: User) -> None:
    response = client_for(back_office).get(job_url(unpaid_job))

    page = response.content.decode()
    cards = {card.label: card.value for card in response.context["cards"]}
    assert cards["Installments found"] == "1"
    assert cards["Protest fees of the installments found"] == "€ 5,16"
    assert cards["Amount differs"] == "1"
    assert "Amount differs from installment 3 (€ 590,99)" in page
    assert "Due date differs from installment 1 (10/05/2025)" in page
    assert "Payment method differs from installment 1 (BOL)" in page
    assert "No open case of this creditor has contract 9999999999." in page
    assert "Row 9, column DATA_SCADENZA: " in page
    rossi = Case.objects.get(contract_number="0000012345")
    assert f'<a href="{reverse("cases:detail", kwargs={"pk": rossi.pk})}">0000012345</a>' in page
    assert '<td class="differs money table-warning">€ 600,00</td>' in page
    assert '<td class="differs money table-warning">€ 590,99</td>' in page
    assert '<td class="differs table-warning">12/05/2025</td>' in page
    assert f'href="{job_url(unpaid_job, "imports:job-download", fmt="xlsx")}"' in page
    assert f'href="{job_url(unpaid_job, "imports:job-download", fmt="csv")}"' in page


def test_results_filter_by_outcome(unpaid_job: ImportJob, back_office: User) -> None:
    response = client_for(back_office).get(job_url(unpaid_job), {"outcome": "amount_mismatch"})

    rows = list(response.context["table"].page.object_list)
    assert [row.record.number for row in rows] == [4]
    pills = {value: count for value, _label, count in response.context["outcome_counts"]}
    assert pills == {
        "found": 1,
        "duplicate": 1,
        "contract_not_found": 1,
        "amount_mismatch": 1,
        "due_date_mismatch": 1,
        "payment_method_mismatch": 1,
        "installment_not_found": 1,
        "error": 1,
    }
    assert 'href="?outcome=amount_mismatch">Amount differs' in response.content.decode()


def test_a_failed_job_shows_why(back_office: User, compass: Creditor) -> None:
    job = run_unpaid_job(compass, b"COLONNA;ALTRA\r\n1;2\r\n")

    page = client_for(back_office).get(job_url(job)).content.decode()

    assert job.status == JobStatus.FAILED
    assert "The file was not applied" in page
    assert (
        "column(s) NUM_PRATICA, DATA_SCADENZA, IMPORTO_RATA, MOD_PAGAMENTO, DATA_INSOLUTO, "
        "SPESE_PROTESTO not found"
    ) in page
    assert "Download XLSX" not in page


@pytest.mark.usefixtures("immediate_tasks")
def test_acquisition_results(
    back_office: User, compass: Creditor, django_capture_on_commit_callbacks: Any
) -> None:
    data = acquisition_file(
        "L7;123;ROSSI MARIO;RSSMRA80A01H501U;VIA ROMA 1;00100;ROMA;RM;;;;;1;15/05/2025;100,00;RID",
        "L7;123;ROSSI MARIO;RSSMRA80A01H501U;VIA ROMA 1;00100;ROMA;RM;;;;;2;15/06/2025;100,00;RID",
        "L7;456;BIANCHI LUCA;BNCLCU75B02F205X;VIA MILANO 2;20100;MILANO;MI;;;;;1;15/05/2025;x;RID",
    )
    client = client_for(back_office)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            client, compass, data, name="affido.csv", layout="compass-affido", kind="acquisition"
        )
    response = client.get(response["Location"])

    cards = {card.label: card.value for card in response.context["cards"]}
    assert cards == {
        "Rows read": "3",
        "Cases created": "1",
        "of which re-assigned": "0",
        "Already present": "0",
        "Debtors created": "1",
        "Installments created": "2",
        "Loaded with warnings": "0",
        "Rows not valid": "2",
    }
    page = response.content.decode()
    case = Case.objects.get(contract_number="0000000123")
    assert f'<a href="{reverse("cases:detail", kwargs={"pk": case.pk})}">0000000123</a>' in page
    assert "Contract 0000000456 not loaded: fix row(s) 4 and load it again." in page


def make_rows(job: ImportJob, count: int) -> None:
    """Result rows as the unpaid importer leaves them, each with its case and installments."""
    case = make_case(
        job.creditor,
        f"C{count}",
        (1, date(2025, 4, 15), "100.00", "SDD"),
        (2, date(2025, 5, 15), "100.00", "SDD"),
    )
    first, second = case.installments.order_by("number")
    ImportRow.objects.bulk_create(
        ImportRow(
            job=job,
            number=number + 2,
            outcome=RowOutcome.FOUND if number % 2 else RowOutcome.AMOUNT_MISMATCH,
            contract_number=case.contract_number,
            installment_number=1,
            due_date=date(2025, 4, 15),
            amount=Decimal("90.00"),
            payment_method="SDD",
            fees=Decimal("0.00"),
            case=case,
            installment=first if number % 2 else None,
            closest=None if number % 2 else second,
        )
        for number in range(count)
    )


def test_job_page_queries_do_not_grow_with_rows(back_office: User, compass: Creditor) -> None:
    client = client_for(back_office)
    queries = []
    for count in (5, 50):
        job = run_unpaid_job(compass, unpaid_file(f"A1;X{count};A;;1;15/05/2025;1,00;RID;;"))
        job.rows.all().delete()
        make_rows(job, count)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(job_url(job))
        assert response.status_code == 200
        assert len(response.context["table"].page.object_list) == count
        queries.append(len(captured))

    assert queries[0] == queries[1]
    # Session, user, visible creditors, job, row count, outcome counts, rows.
    assert queries[1] <= 7


# Downloads


def test_downloads_are_attachments_with_every_row(unpaid_job: ImportJob, back_office: User) -> None:
    client = client_for(back_office)

    xlsx = client.get(job_url(unpaid_job, "imports:job-download", fmt="xlsx"))
    text = client.get(job_url(unpaid_job, "imports:job-download", fmt="csv"))

    assert (
        xlsx["Content-Disposition"] == f'attachment; filename="insoluti-job-{unpaid_job.pk}.xlsx"'
    )
    assert text["Content-Disposition"] == f'attachment; filename="insoluti-job-{unpaid_job.pk}.csv"'
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet["A1"].value == "Row"
    assert [sheet.cell(row=r, column=8).value for r in range(2, 10)] == [
        "Found",
        "Duplicate",
        "Amount differs",
        "Due date differs",
        "Payment method differs",
        "Contract not found",
        "Installment not found",
        "Row not valid",
    ]
    rows = list(
        csv.reader(io.StringIO(b"".join(text.streaming_content).decode("utf-8-sig")), delimiter=";")
    )
    assert rows[3][:9] == [
        "4",
        "0000012345",
        "3",
        "15/06/2025",
        "600,00",
        "SDD",
        "0,00",
        "Amount differs",
        "Amount differs from installment 3 (€ 590,99)",
    ]


def test_original_file_is_returned_unchanged(unpaid_job: ImportJob, back_office: User) -> None:
    response = client_for(back_office).get(job_url(unpaid_job, "imports:job-file"))

    assert response["Content-Disposition"] == 'attachment; filename="insoluti_maggio.csv"'
    assert b"".join(response.streaming_content) == unpaid_file(*UNPAID_ROWS)


# Scoping


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("imports:job", {}),
        ("imports:job-progress", {}),
        ("imports:job-download", {"fmt": "xlsx"}),
        ("imports:job-download", {"fmt": "csv"}),
        ("imports:job-file", {}),
    ],
)
def test_another_creditors_operator_cannot_reach_the_job(
    unpaid_job: ImportJob, other_operator: User, name: str, kwargs: dict[str, str]
) -> None:
    assert client_for(other_operator).get(job_url(unpaid_job, name, **kwargs)).status_code == 404


@pytest.mark.parametrize(
    ("persona", "sees"),
    [
        ("admin_user", True),
        ("back_office", True),
        ("team_leader", True),
        ("operator", True),
        ("other_operator", False),
    ],
)
def test_jobs_list_is_scoped(
    unpaid_job: ImportJob, persona: str, sees: bool, request: pytest.FixtureRequest
) -> None:
    response = client_for(request.getfixturevalue(persona)).get(reverse("imports:list"))

    assert response.status_code == 200
    assert [row.record for row in response.context["table"].page.object_list] == (
        [unpaid_job] if sees else []
    )
    assert (job_url(unpaid_job) in response.content.decode()) is sees


def test_jobs_list_filters_creditors_the_user_may_see(
    unpaid_job: ImportJob, other_operator: User, compass: Creditor
) -> None:
    response = client_for(other_operator).get(reverse("imports:list"), {"creditor": compass.pk})

    assert list(response.context["table"].page.object_list) == []
    assert compass.name not in response.content.decode()


def test_jobs_list_is_paginated(back_office: User, compass: Creditor) -> None:
    layout = Layout.objects.get(slug="compass-insoluti")
    ImportJob.objects.bulk_create(
        ImportJob(creditor=compass, layout=layout, kind="unpaid", original_name=f"f{n}.csv")
        for n in range(30)
    )

    response = client_for(back_office).get(reverse("imports:list"), {"page": 2})

    assert len(response.context["table"].page.object_list) == 5
