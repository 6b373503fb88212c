"""Preview, then confirm: the preview's stored file becomes a job that applies it, with the
same result as uploading the file without "preview only"."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from cases.models import Debtor
from creditors.models import Creditor
from imports.models import ImportJob, JobStatus
from imports.services import SubmitError, confirm_blockers, confirm_preview, run_import
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes, run_file
from imports.tests.snapshots import installment_states, natural_snapshot
from imports.tests.test_undo import (
    ACQUISITION_ROWS,
    INSOLUTI_ROWS,
    acquire,
    insoluto,
    make_existing,
)
from imports.tests.test_views import IMMEDIATE, client_for
from imports.undo import undo_job

pytestmark = pytest.mark.django_db

AFFIDO = csv_bytes(AFFIDO_HEADER, *ACQUISITION_ROWS)
INSOLUTI = csv_bytes(INSOLUTI_HEADER, *INSOLUTI_ROWS)


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def existing(compass: Creditor) -> Debtor:
    return make_existing(compass)


def preview_of(creditor: Creditor, slug: str, data: bytes) -> ImportJob:
    with translation.override("en"):
        preview = run_file(creditor, slug, data, "file.csv", dry_run=True)
    assert preview.status == JobStatus.DONE, preview.error
    return preview


def refusal(preview: ImportJob, user: User) -> str:
    with translation.override("en"), pytest.raises(SubmitError) as refused:
        confirm_preview(preview, user)
    return str(refused.value)


@pytest.mark.parametrize(
    ("slug", "data"),
    [("compass-affido", AFFIDO), ("compass-insoluti", INSOLUTI)],
    ids=["acquisition", "unpaid"],
)
def test_preview_then_confirm_gives_what_a_direct_run_gives(
    compass: Creditor, existing: Debtor, back_office: User, slug: str, data: bytes
) -> None:
    if slug == "compass-insoluti":
        acquire(compass, *ACQUISITION_ROWS)
    before, states_before = natural_snapshot(), installment_states()
    with transaction.atomic():
        direct = run_file(compass, slug, data, "direct.csv")
        direct_result = (direct.counts, natural_snapshot(), installment_states())
        transaction.set_rollback(True)
    assert natural_snapshot() == before

    preview = run_file(compass, slug, data, "file.csv", dry_run=True)
    assert (natural_snapshot(), installment_states()) == (before, states_before)
    job = run_import(confirm_preview(preview, back_office).pk)

    assert job.status == JobStatus.DONE
    assert preview.counts == direct.counts
    assert (job.counts, natural_snapshot(), installment_states()) == direct_result
    assert installment_states() != states_before


def test_the_confirmation_is_a_new_job_of_the_same_bytes(
    compass: Creditor, back_office: User
) -> None:
    preview = preview_of(compass, "compass-affido", AFFIDO)

    job = confirm_preview(preview, back_office)

    assert (job.creditor, job.layout, job.original_name, job.sha256) == (
        preview.creditor,
        preview.layout,
        "file.csv",
        preview.sha256,
    )
    assert (job.dry_run, job.status, job.confirmed_from, job.created_by) == (
        False,
        JobStatus.QUEUED,
        preview,
        back_office,
    )
    with job.file.open("rb") as stored:
        assert stored.read() == AFFIDO
    assert list(preview.confirmations.all()) == [job]


def test_a_file_applied_since_the_preview_cannot_be_confirmed(
    compass: Creditor, back_office: User
) -> None:
    preview = preview_of(compass, "compass-affido", AFFIDO)
    applied = acquire(compass, *ACQUISITION_ROWS)

    message = refusal(preview, back_office)

    assert message.startswith(f"This file was applied by job #{applied.pk} on ")
    assert message.endswith(", so the preview can no longer be confirmed.")
    assert ImportJob.objects.count() == 2


def test_a_preview_is_confirmed_once_while_its_job_is_queued(
    compass: Creditor, back_office: User
) -> None:
    preview = preview_of(compass, "compass-affido", AFFIDO)
    first = confirm_preview(preview, back_office)

    assert refusal(preview, back_office) == (
        f"This file is already being applied by job #{first.pk}."
    )
    assert preview.confirmations.count() == 1


def test_only_a_completed_preview_can_be_confirmed(compass: Creditor, back_office: User) -> None:
    applied = acquire(compass, *ACQUISITION_ROWS)
    failed = run_file(compass, "compass-affido", b"COLONNA;ALTRA\r\n1;2\r\n", dry_run=True)

    assert refusal(applied, back_office) == (
        "Only a preview can be confirmed: this job was not a preview."
    )
    assert refusal(failed, back_office) == "Only a completed preview can be confirmed."


def test_a_preview_whose_stored_file_changed_is_not_confirmed(
    compass: Creditor, back_office: User
) -> None:
    preview = preview_of(compass, "compass-affido", AFFIDO)
    with open(preview.file.path, "wb") as stored:  # noqa: PTH123 - the storage's own path
        stored.write(AFFIDO + b"CMP-1;1;X;;;;;;;;;;1;01/01/2026;1,00;SDD\r\n")

    assert refusal(preview, back_office) == (
        "The stored file is not the one previewed: upload it again."
    )


def test_once_the_confirmation_is_undone_the_preview_can_be_confirmed_again(
    compass: Creditor, back_office: User
) -> None:
    preview = preview_of(compass, "compass-affido", AFFIDO)
    first = run_import(confirm_preview(preview, back_office).pk)
    assert confirm_blockers(preview) != []

    undo_job(first, back_office)

    assert confirm_blockers(preview) == []
    again = run_import(confirm_preview(preview, back_office).pk)
    assert again.counts == first.counts


# Pages


def preview_page(client: Client, preview: ImportJob) -> str:
    return client.get(reverse("imports:job", args=[preview.pk])).content.decode()


def confirm_url(job: ImportJob) -> str:
    return reverse("imports:job-confirm", args=[job.pk])


@pytest.fixture
def unpaid_preview(compass: Creditor) -> ImportJob:
    """A preview of an unpaid-installments file with a row that is not valid."""
    acquire(compass, *ACQUISITION_ROWS[:2])
    bad = insoluto("0010007000", 2, "15/09/2025", "12,3,4")
    return preview_of(compass, "compass-insoluti", csv_bytes(INSOLUTI_HEADER, *INSOLUTI_ROWS, bad))


def test_a_preview_shows_how_the_file_was_read_and_its_rows_not_valid(
    unpaid_preview: ImportJob, back_office: User
) -> None:
    page = preview_page(client_for(back_office), unpaid_preview)

    assert "How the file was read" in page
    assert '<dt class="col-5">File type</dt><dd class="col-7">CSV</dd>' in page
    assert '<dt class="col-5">Encoding</dt><dd class="col-7">utf-8</dd>' in page
    assert '<dt class="col-5">Delimiter</dt><dd class="col-7">; (semicolon)</dd>' in page
    assert '<dt class="col-5">Header row</dt><dd class="col-7">1</dd>' in page
    assert '<code class="border rounded px-1">NUM_PRATICA</code>' in page
    assert "1 row not valid: it will not be applied" in page
    assert (
        "<tr><td>7</td><td>0010007000</td><td>Row 7, column IMPORTO_RATA: &#x27;12,3,4&#x27; is "
        "not an amount</td></tr>"
    ) in page
    assert "The rows as read, 50 a page" in page
    assert f'<form method="post" action="{confirm_url(unpaid_preview)}">' in page
    assert "Confirm and apply" in page


def test_an_operator_sees_the_preview_but_cannot_confirm_it(
    unpaid_preview: ImportJob, operator: User
) -> None:
    client = client_for(operator)

    page = preview_page(client, unpaid_preview)

    assert "How the file was read" in page
    assert confirm_url(unpaid_preview) not in page
    assert "Back office, team leaders and administrators can apply it." in page
    assert client.post(confirm_url(unpaid_preview)).status_code == 403
    assert not unpaid_preview.confirmations.exists()


def test_another_creditors_user_does_not_find_the_preview(
    unpaid_preview: ImportJob, other_operator: User
) -> None:
    assert client_for(other_operator).post(confirm_url(unpaid_preview)).status_code == 404
    assert not unpaid_preview.confirmations.exists()


def test_confirming_runs_the_job_and_the_preview_then_points_to_it(
    unpaid_preview: ImportJob,
    back_office: User,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = IMMEDIATE
    client = client_for(back_office)

    assert client.get(confirm_url(unpaid_preview)).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(confirm_url(unpaid_preview))

    job = unpaid_preview.confirmations.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:job", args=[job.pk])
    assert (job.status, job.counts) == (JobStatus.DONE, unpaid_preview.counts)
    page = client.get(response["Location"]).content.decode()
    preview_url = reverse("imports:job", args=[unpaid_preview.pk])
    assert f'Confirms preview</dt><dd class="col-auto"><a href="{preview_url}">' in page
    preview = preview_page(client, unpaid_preview)
    assert f"Job #{job.pk} applies this preview (Completed)." in preview
    assert "so the preview can no longer be confirmed." in preview
    assert f'action="{confirm_url(unpaid_preview)}"' not in preview


def test_a_refused_confirmation_says_why_on_the_preview(
    unpaid_preview: ImportJob, compass: Creditor, back_office: User
) -> None:
    client = client_for(back_office)
    with unpaid_preview.file.open("rb") as stored:
        applied = run_file(compass, "compass-insoluti", stored.read(), "again.csv")

    response = client.post(confirm_url(unpaid_preview), follow=True)

    assert response.redirect_chain == [(reverse("imports:job", args=[unpaid_preview.pk]), 302)]
    assert f"This file was applied by job #{applied.pk} on " in response.content.decode()
    assert not unpaid_preview.confirmations.exists()
