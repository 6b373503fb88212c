"""An assignment in several files given through the upload page, the API and the command line:
all files together or none, and the job page lists them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from cases.models import CaseParty
from creditors.models import Creditor
from imports.models import ImportJob, JobStatus, Layout
from imports.tests.test_multifile import FILES, SLUG, four_file_layout

pytestmark = pytest.mark.django_db

MISSING_GARANTI = (
    "The layout “Axactor — affido in quattro file” reads 4 files, in this order: pratiche, "
    "debitori, garanti, dettaglio; 3 were given (AX_pratiche_2025.csv, AX_debitori_2025.csv, "
    "AX_dettaglio_2025.csv). Missing: garanti."
)


@pytest.fixture
def layout(db: None) -> Layout:
    return four_file_layout()


@pytest.fixture(autouse=True)
def immediate_tasks(settings: Any, tmp_path: Path) -> None:
    """Jobs run inside the request that enqueues them; their files are kept in a scratch folder."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.MEDIA_ROOT = tmp_path / "media"


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def uploads(files: list[tuple[str, bytes]]) -> list[SimpleUploadedFile]:
    return [SimpleUploadedFile(name, data, content_type="text/csv") for name, data in files]


def post_page(client: Client, creditor: Creditor, files: list[tuple[str, bytes]]) -> Any:
    form = {
        "creditor": creditor.pk,
        "layout": Layout.objects.get(slug=SLUG).pk,
        "file": uploads(files),
    }
    return client.post(reverse("imports:upload", args=["acquisition"]), form)


def test_the_upload_page_names_the_files_a_layout_reads(back_office: User, layout: Layout) -> None:
    response = client_for(back_office).get(reverse("imports:upload", args=["acquisition"]))

    page = response.content.decode()
    assert "<strong>Axactor — affido in quattro file</strong>: 1. pratiche, 2. debitori, " in page
    assert 'name="file" multiple' in page


def test_the_upload_page_takes_the_four_files_and_the_job_page_lists_them(
    back_office: User,
    compass: Creditor,
    layout: Layout,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(back_office)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_page(client, compass, FILES)

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert (job.status, job.created_by, job.counts["cases_created"]) == (
        JobStatus.DONE,
        back_office,
        3,
    )
    assert CaseParty.objects.count() == 6
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "1. AX_pratiche_2025.csv (pratiche)" in page
    assert "4. AX_dettaglio_2025.csv (dettaglio, " in page


def test_the_upload_page_refuses_a_set_with_a_file_missing(
    back_office: User, compass: Creditor, layout: Layout
) -> None:
    response = post_page(client_for(back_office), compass, [FILES[0], FILES[1], FILES[3]])

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [MISSING_GARANTI]
    assert not ImportJob.objects.exists()


def test_the_api_takes_several_files_as_file_parts(
    back_office: User, compass: Creditor, layout: Layout, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(back_office).post(
            reverse("api:import-job-list"),
            {"creditor": "COMPASS", "layout": SLUG, "file": uploads(FILES)},
        )

    assert response.status_code == 201, response.content
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert job.extra_files.count() == 3
    assert job.original_name == "AX_pratiche_2025.csv"


def test_the_api_refuses_a_set_with_a_file_missing(
    back_office: User, compass: Creditor, layout: Layout
) -> None:
    response = client_for(back_office).post(
        reverse("api:import-job-list"),
        {"creditor": "COMPASS", "layout": SLUG, "file": uploads([FILES[0], FILES[1], FILES[3]])},
    )

    assert response.status_code == 400
    assert response.json() == {"file": [MISSING_GARANTI]}
    assert not ImportJob.objects.exists()


def run_command(paths: list[Path]) -> dict[str, Any]:
    out: list[str] = []

    class Capture:
        def write(self, text: str) -> None:
            out.append(text)

        def flush(self) -> None:
            pass

    try:
        call_command(
            "import_file",
            *map(str, paths),
            "--creditor",
            "compass",
            "--layout",
            SLUG,
            "--json",
            stdout=Capture(),
        )
    finally:
        result = json.loads("".join(out))
    return result  # type: ignore[no-any-return]


def write_files(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    paths = []
    for name, data in files:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_the_command_line_takes_the_files_in_one_call(
    compass: Creditor, layout: Layout, tmp_path: Path
) -> None:
    summary = run_command(write_files(tmp_path, FILES))

    assert summary["status"] == JobStatus.DONE
    assert (summary["files"], summary["cases_created"], summary["parties_created"]) == (4, 3, 6)


def test_the_command_line_refuses_a_set_with_a_file_missing(
    compass: Creditor, layout: Layout, tmp_path: Path
) -> None:
    paths = write_files(tmp_path, [FILES[0], FILES[1], FILES[3]])

    with pytest.raises(CommandError) as refused, translation.override("en"):
        run_command(paths)

    assert str(refused.value) == MISSING_GARANTI
    assert not ImportJob.objects.exists()
