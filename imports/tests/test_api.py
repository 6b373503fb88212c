"""The imports API: upload a creditor file, follow its job and read its rows, per persona."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from cases.models import Case, Installment
from cases.tests.factories import CaseFactory, InstallmentFactory
from creditors.models import Creditor
from imports.models import ImportJob, JobStatus, Layout
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes, run_file

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
JOBS_URL = reverse("api:import-job-list")
UPLOADED_AT = datetime(2025, 5, 20, 9, 30, tzinfo=ZoneInfo("Europe/Rome"))
NOT_A_CHOICE = "Select a valid choice. That choice is not one of the available choices."
FOUND = "A1;0000012345;ROSSI MARIO;;2;15/05/2025;489,17;RID;20/05/2025;5,16"
AMOUNT_DIFFERS = "A1;0000012345;ROSSI MARIO;;3;15/06/2025;600,00;RID;;"
NOT_FOUND = "A1;9999999999;VERDI ANNA;;1;10/05/2025;50,00;RID;;"


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    """Jobs run inside the request that enqueues them, as soon as it commits."""
    settings.TASKS = IMMEDIATE


@pytest.fixture
def rossi(compass: Creditor) -> Case:
    """A Compass case with three installments, the second of which the files report unpaid."""
    case = CaseFactory(creditor=compass, contract_number="0000012345")
    for number, due, amount in ((1, "2025-04-15", "489.17"), (2, "2025-05-15", "489.17")):
        InstallmentFactory(
            case=case, number=number, due_date=date.fromisoformat(due), amount=Decimal(amount)
        )
    InstallmentFactory(case=case, number=3, due_date=date(2025, 6, 15), amount=Decimal("590.99"))
    return case


@pytest.fixture
def compass_job(compass: Creditor, rossi: Case) -> ImportJob:
    return run_file(compass, "compass-insoluti", unpaid_file(FOUND, AMOUNT_DIFFERS, NOT_FOUND))


def unpaid_file(*rows: str) -> bytes:
    return csv_bytes(INSOLUTI_HEADER, *rows)


def client_for(user: User) -> Client:
    # English, so the assertions hold whatever the Italian catalogue says.
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def upload(
    client: Client,
    data: bytes,
    *,
    creditor: str = "COMPASS",
    layout: str = "compass-insoluti",
    name: str = "insoluti_maggio.csv",
    **fields: str,
) -> Any:
    file = SimpleUploadedFile(name, data, content_type="text/csv")
    return client.post(JOBS_URL, {"creditor": creditor, "layout": layout, "file": file, **fields})


def job_url(job: ImportJob | int) -> str:
    return reverse("api:import-job-detail", args=[getattr(job, "pk", job)])


def rows_url(job: ImportJob) -> str:
    return reverse("api:import-row-list", kwargs={"job_pk": job.pk})


# Who may do what


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_refused(client: Client, method: str) -> None:
    assert getattr(client, method)(JOBS_URL).status_code == 403


def test_anonymous_is_refused_a_job_and_its_rows(client: Client, compass_job: ImportJob) -> None:
    assert client.get(job_url(compass_job)).status_code == 403
    assert client.get(rows_url(compass_job)).status_code == 403


@pytest.mark.parametrize("persona", ["operator", "other_operator"])
def test_operators_may_not_upload(
    persona: str, request: pytest.FixtureRequest, compass: Creditor
) -> None:
    response = upload(client_for(request.getfixturevalue(persona)), unpaid_file(FOUND))

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only back office, team leaders and administrators may upload creditor files."
    }
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("persona", ["back_office", "team_leader", "admin_user"])
def test_back_office_leaders_and_administrators_upload(
    persona: str, request: pytest.FixtureRequest, compass: Creditor
) -> None:
    user = request.getfixturevalue(persona)

    response = upload(client_for(user), unpaid_file(FOUND))

    job = ImportJob.objects.get()
    assert response.status_code == 201
    assert (response.json()["id"], job.created_by, job.status) == (job.pk, user, JobStatus.QUEUED)


@pytest.mark.parametrize("persona", ["operator", "team_leader", "back_office", "admin_user"])
def test_personas_of_the_creditor_follow_its_jobs(
    persona: str, request: pytest.FixtureRequest, compass_job: ImportJob
) -> None:
    client = client_for(request.getfixturevalue(persona))

    assert [job["id"] for job in client.get(JOBS_URL).json()["results"]] == [compass_job.pk]
    assert client.get(job_url(compass_job)).status_code == 200
    assert client.get(rows_url(compass_job)).json()["count"] == 3


def test_operator_of_another_creditor_sees_nothing_of_compass(
    other_operator: User, compass_job: ImportJob
) -> None:
    client = client_for(other_operator)

    assert client.get(JOBS_URL).json()["count"] == 0
    assert client.get(job_url(compass_job)).status_code == 404
    assert client.get(rows_url(compass_job)).status_code == 404


# Uploading


@pytest.mark.usefixtures("immediate_tasks")
def test_upload_queues_the_job_and_the_worker_applies_it(
    back_office: User, rossi: Case, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(back_office)

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, unpaid_file(FOUND, NOT_FOUND))

    job = ImportJob.objects.get()
    assert response.status_code == 201
    assert response["Location"] == f"http://testserver{job_url(job)}"
    queued = response.json()
    assert (queued["status"], queued["creditor"], queued["layout"]) == (
        "queued",
        "COMPASS",
        "compass-insoluti",
    )
    body = client.get(job_url(job)).json()
    assert (body["status"], body["progress_percent"], body["rows_done"]) == ("done", 100, 2)
    assert body["counts"]["found"] == 1
    assert body["counts"]["not_found"]["contract_not_found"] == 1
    assert body["summary"]["found"] == 1
    assert rossi.installments.get(number=2).fees == Decimal("5.16")


@time_machine.travel(UPLOADED_AT, tick=False)
@pytest.mark.usefixtures("immediate_tasks")
def test_the_same_file_twice_is_a_conflict(
    back_office: User, rossi: Case, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(back_office)
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(client, unpaid_file(FOUND)).json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, unpaid_file(FOUND), name="di_nuovo.csv")

    second = ImportJob.objects.exclude(pk=first).get()
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"This file was already applied by job #{first} on 20/05/2025 09:30: "
        "nothing was applied again.",
        "code": "already_applied",
        "job": second.pk,
        "duplicate_of": first,
    }
    assert (second.status, second.duplicate_of_id) == (JobStatus.ALREADY_APPLIED, first)


def test_a_preview_of_the_same_file_is_not_a_conflict(
    back_office: User, compass: Creditor, rossi: Case
) -> None:
    run_file(compass, "compass-insoluti", unpaid_file(FOUND))

    response = upload(client_for(back_office), unpaid_file(FOUND), dry_run="true")

    assert response.status_code == 201
    assert (response.json()["dry_run"], response.json()["status"]) == (True, "queued")


def test_an_empty_file_is_refused(back_office: User, compass: Creditor) -> None:
    response = upload(client_for(back_office), b"", name="vuoto.csv")

    assert response.status_code == 400
    assert response.json() == {"file": ["The file “vuoto.csv” is empty."]}
    assert not ImportJob.objects.exists()


def test_a_file_too_large_is_refused(back_office: User, compass: Creditor, settings: Any) -> None:
    settings.INCASSO_MAX_UPLOAD_BYTES = 1024

    response = upload(client_for(back_office), b"x" * 2048)

    assert response.status_code == 400
    assert response.json() == {
        "file": ["The file is 2.0\xa0KB; the largest file accepted is 1.0\xa0KB."]
    }


@pytest.mark.parametrize("code", ["AXACTOR", "NESSUNO"])
def test_a_creditor_the_user_may_not_see_is_refused_like_an_unknown_one(
    back_office: User, axactor: Creditor, code: str
) -> None:
    response = upload(client_for(back_office), unpaid_file(FOUND), creditor=code)

    assert response.status_code == 400
    assert response.json() == {"creditor": [NOT_A_CHOICE]}
    assert not ImportJob.objects.exists()


def test_a_layout_of_another_creditor_is_refused(
    admin_user: User, compass: Creditor, axactor: Creditor
) -> None:
    Layout.objects.create(
        slug="axactor-insoluti", name="Axactor insoluti", kind="unpaid", creditor=axactor
    )

    response = upload(client_for(admin_user), unpaid_file(FOUND), layout="axactor-insoluti")

    assert response.status_code == 400
    assert response.json() == {
        "layout": ["The layout “Axactor insoluti” is for AXACTOR, not for COMPASS."]
    }


def test_a_layout_of_a_creditor_the_user_may_not_see_is_unknown(
    back_office: User, compass: Creditor, axactor: Creditor
) -> None:
    Layout.objects.create(
        slug="axactor-insoluti", name="Axactor insoluti", kind="unpaid", creditor=axactor
    )

    response = upload(client_for(back_office), unpaid_file(FOUND), layout="axactor-insoluti")

    assert response.json() == {"layout": [NOT_A_CHOICE]}


def test_the_layout_says_the_kind_of_file(back_office: User, compass: Creditor) -> None:
    data = csv_bytes(AFFIDO_HEADER, encoding="utf-8")

    response = upload(client_for(back_office), data, layout="compass-affido", name="affido.csv")

    assert response.status_code == 201
    assert response.json()["kind"] == "acquisition"


def test_missing_fields_are_field_errors(back_office: User) -> None:
    response = client_for(back_office).post(JOBS_URL, {})

    assert response.status_code == 400
    assert response.json() == {
        "creditor": ["This field is required."],
        "layout": ["This field is required."],
        "file": ["No file was submitted."],
    }


# Following jobs


def test_job_fields(back_office: User, compass: Creditor, rossi: Case) -> None:
    with time_machine.travel(UPLOADED_AT, tick=False):
        job = run_file(compass, "compass-insoluti", unpaid_file(FOUND, AMOUNT_DIFFERS, NOT_FOUND))

    body = client_for(back_office).get(job_url(job)).json()

    pk = job.pk
    assert body == {
        "id": pk,
        "creditor": "COMPASS",
        "layout": "compass-insoluti",
        "kind": "unpaid",
        "file_name": "file.csv",
        "status": "done",
        "dry_run": False,
        "rows_total": 3,
        "rows_done": 3,
        "progress_percent": 100,
        "counts": job.counts,
        "error": "",
        "duplicate_of": None,
        "created_at": "2025-05-20T09:30:00+02:00",
        "started_at": "2025-05-20T09:30:00+02:00",
        "finished_at": "2025-05-20T09:30:00+02:00",
        "summary": {**job.counts, "job": pk, "status": "done", "dry_run": False, "seconds": 0.0},
        "urls": {
            "page": f"http://testserver/imports/jobs/{pk}/",
            "file": f"http://testserver/imports/jobs/{pk}/file/",
            "xlsx": f"http://testserver/imports/jobs/{pk}/download.xlsx",
            "csv": f"http://testserver/imports/jobs/{pk}/download.csv",
        },
    }
    assert job.counts["fees_total"] == "5.16"


def test_a_failed_job_says_why_and_offers_no_report(back_office: User, compass: Creditor) -> None:
    job = run_file(compass, "compass-insoluti", b"COLONNA;ALTRA\r\n1;2\r\n")

    body = client_for(back_office).get(job_url(job)).json()

    assert body["status"] == "failed"
    assert (
        "column(s) NUM_PRATICA, DATA_SCADENZA, IMPORTO_RATA, MOD_PAGAMENTO, DATA_INSOLUTO, "
        "SPESE_PROTESTO not found" in (body["error"])
    )
    assert body["summary"]["error"] == body["error"]
    assert (body["urls"]["xlsx"], body["urls"]["csv"]) == (None, None)


def test_jobs_filter_by_creditor_kind_and_status(
    admin_user: User, compass_job: ImportJob, axactor: Creditor
) -> None:
    axactor_job = run_file(axactor, "compass-insoluti", unpaid_file())
    client = client_for(admin_user)

    def ids(**params: str) -> list[int]:
        return [job["id"] for job in client.get(JOBS_URL, params).json()["results"]]

    assert ids() == [axactor_job.pk, compass_job.pk]
    assert ids(creditor="COMPASS") == [compass_job.pk]
    assert ids(status="done") == [compass_job.pk]
    assert ids(kind="unpaid", status="failed") == [axactor_job.pk]
    assert ids(kind="acquisition") == []


def test_filter_on_an_invisible_creditor_is_a_field_error(
    other_operator: User, compass_job: ImportJob
) -> None:
    response = client_for(other_operator).get(JOBS_URL, {"creditor": "COMPASS"})

    assert response.status_code == 400
    assert list(response.json()) == ["creditor"]


def test_listing_jobs_costs_the_same_queries_for_any_number_of_jobs(
    back_office: User, compass: Creditor
) -> None:
    client = client_for(back_office)
    run_file(compass, "compass-insoluti", unpaid_file(NOT_FOUND))
    with CaptureQueriesContext(connection) as one:
        client.get(JOBS_URL)

    for _n in range(3):
        run_file(compass, "compass-insoluti", unpaid_file(NOT_FOUND), dry_run=True)
    with CaptureQueriesContext(connection) as four:
        assert client.get(JOBS_URL).json()["count"] == 4

    assert len(four) == len(one)


# A job's rows


def test_rows_show_the_values_read_and_the_installment_compared(
    back_office: User, compass_job: ImportJob, rossi: Case
) -> None:
    body = client_for(back_office).get(rows_url(compass_job)).json()

    found, differs, not_found = body["results"]
    second = Installment.objects.get(case=rossi, number=2)
    third = Installment.objects.get(case=rossi, number=3)
    assert found == {
        "number": 2,
        "outcome": "found",
        "message": "",
        "reason": "Installment 2 of the case",
        "contract_number": "0000012345",
        "installment_number": 2,
        "due_date": "2025-05-15",
        "amount": "489.17",
        "payment_method": "SDD",
        "fees": "5.16",
        "case": rossi.pk,
        "installment": second.pk,
        "closest": None,
    }
    assert (differs["outcome"], differs["installment"], differs["closest"]) == (
        "amount_mismatch",
        None,
        {
            "id": third.pk,
            "number": 3,
            "due_date": "2025-06-15",
            "amount": "590.99",
            "payment_method": "SDD",
        },
    )
    assert differs["reason"] == "Amount differs from installment 3 (€ 590,99)"
    assert (not_found["outcome"], not_found["case"]) == ("contract_not_found", None)


def test_rows_filter_by_outcome(back_office: User, compass_job: ImportJob) -> None:
    client = client_for(back_office)

    rows = client.get(rows_url(compass_job), {"outcome": "amount_mismatch"}).json()["results"]
    wrong = client.get(rows_url(compass_job), {"outcome": "perhaps"})

    assert [row["number"] for row in rows] == [3]
    assert wrong.status_code == 400
    assert list(wrong.json()) == ["outcome"]


def test_rows_cost_the_same_queries_for_any_number_of_rows(
    back_office: User, compass: Creditor, rossi: Case
) -> None:
    client = client_for(back_office)
    small = run_file(compass, "compass-insoluti", unpaid_file(FOUND), dry_run=True)
    large = run_file(
        compass,
        "compass-insoluti",
        unpaid_file(FOUND, FOUND, AMOUNT_DIFFERS, AMOUNT_DIFFERS, NOT_FOUND, NOT_FOUND),
        dry_run=True,
    )

    with CaptureQueriesContext(connection) as one_row:
        client.get(rows_url(small))
    with CaptureQueriesContext(connection) as six_rows:
        assert client.get(rows_url(large)).json()["count"] == 6

    assert len(six_rows) == len(one_row)
