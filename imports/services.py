"""Submitting creditor files and running import jobs: store, read, map, match, apply, report."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditAction, User
from accounts.services import record_event
from creditors.models import Creditor
from imports.acquisition import AcquisitionImporter
from imports.assignment import (
    FilesError,
    detected_format,
    match_files,
    read_assignment,
    set_digest,
    store_extra_files,
    stored_files,
)
from imports.mapping import LayoutError, RowParser
from imports.models import ImportJob, ImportKind, JobStatus, Layout
from imports.prefattura import PreInvoiceImporter
from imports.readers import Cell, ReadError, open_table
from imports.totals import TotalsLine, totals_counts, without_totals_lines
from imports.unpaid import UnpaidImporter

logger = logging.getLogger(__name__)


class Importer(Protocol):
    """What each kind of file's importer does: read every row, then apply in a transaction."""

    rows: int
    counts: dict[str, Any]

    def __init__(self, job: ImportJob, parser: RowParser) -> None: ...

    def read(
        self, rows: Iterator[tuple[int, list[Cell]]], progress: Callable[[int], None]
    ) -> None: ...

    def apply(self) -> None: ...


IMPORTERS: dict[str, type[Importer]] = {
    ImportKind.ACQUISITION: AcquisitionImporter,
    ImportKind.UNPAID: UnpaidImporter,
    ImportKind.PRE_INVOICE: PreInvoiceImporter,
}


class SubmitError(Exception):
    """The upload was refused before any processing; the message says why."""


class AlreadyApplied(Exception):
    """The same bytes were applied by another job while this one was being read."""

    def __init__(self, earlier: ImportJob) -> None:
        super().__init__(already_applied_message(earlier))
        self.earlier = earlier


def previous_application(job: ImportJob) -> ImportJob | None:
    """The earlier job that applied the same bytes for the same creditor and layout."""
    return (
        ImportJob.objects.filter(
            creditor=job.creditor,
            layout=job.layout,
            sha256=job.sha256,
            dry_run=False,
            status=JobStatus.DONE,
        )
        .exclude(pk=job.pk)
        .order_by("created_at")
        .first()
    )


def already_applied_message(earlier: ImportJob) -> str:
    return _(
        "This file was already applied by job #%(job)s on %(when)s: nothing was applied again."
    ) % {
        "job": earlier.pk,
        "when": timezone.localtime(earlier.created_at).strftime("%d/%m/%Y %H:%M"),
    }


def submit_import(
    *,
    user: User | None,
    creditor: Creditor,
    layout: Layout,
    name: str,
    data: bytes,
    dry_run: bool = False,
    more_files: Sequence[tuple[str, bytes]] = (),
) -> ImportJob:
    """Store the uploaded bytes with their SHA-256 and queue a job, unless already applied.

    A layout that reads several files takes them all (`more_files` after the first): the set is
    refused whole when a file is missing or extra, and is applied once, whatever its order.
    """
    for file_name, content in ((name, data), *more_files):
        if not content:
            raise SubmitError(_("The file “%(name)s” is empty.") % {"name": file_name})
    if layout.creditor_id not in (None, creditor.pk):
        raise SubmitError(
            _("The layout “%(layout)s” belongs to another creditor.") % {"layout": layout}
        )
    try:
        files = match_files(layout, [(name, data), *more_files])
    except (FilesError, LayoutError) as exc:
        raise SubmitError(str(exc)) from exc
    job = ImportJob(
        creditor=creditor,
        layout=layout,
        kind=layout.kind,
        original_name=files[0].name[:255],
        size=sum(len(f.data) for f in files),
        sha256=set_digest(files),
        dry_run=dry_run,
        created_by=user,
    )
    earlier = None if dry_run else previous_application(job)
    if earlier is not None:
        # The same bytes are stored already, with the job that applied them: not a second copy
        # of the creditor's file (and of the personal data in it).
        job.file.name = earlier.file.name
        job.status = JobStatus.ALREADY_APPLIED
        job.duplicate_of = earlier
        job.error = already_applied_message(earlier)
        job.finished_at = timezone.now()
        job.save()
    else:
        job.file.save(files[0].name, ContentFile(files[0].data), save=False)
        job.save()
        store_extra_files(job, files)
    record_event(user, AuditAction.IMPORT, job, summary=f"{job.kind} {job.status}")
    logger.info("import job %s submitted kind=%s size=%s", job.pk, job.kind, job.size)
    return job


def enqueue_import(job: ImportJob) -> None:
    """Hand the job to the background worker once the upload is committed."""
    from imports.tasks import process_import_job

    if job.status == JobStatus.QUEUED:
        transaction.on_commit(lambda: process_import_job.enqueue(job.pk))


def run_import(job_id: int) -> ImportJob:
    """Process one queued job: read every row, then apply everything in one transaction.

    Nothing is applied when any step fails: the job ends failed with a message the user can
    act on, and the database is as it was.
    """
    claimed = ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.READING, started_at=timezone.now()
    )
    job = ImportJob.objects.select_related("layout", "creditor").get(pk=job_id)
    if not claimed:
        logger.warning("import job %s not queued (status %s); skipped", job.pk, job.status)
        return job
    try:
        counts = _process(job)
    except AlreadyApplied as exc:
        _fail(job, str(exc), JobStatus.ALREADY_APPLIED, exc.earlier)
    except (ReadError, LayoutError) as exc:
        _fail(job, str(exc))
    except (KeyboardInterrupt, SystemExit):
        raise  # the worker stops: `fail_interrupted_jobs` marks the job when it starts again
    except BaseException:  # a reader library's panic among them, which is no Exception
        logger.exception("import job %s failed", job.pk)
        _fail(
            job,
            _(
                "The file could not be processed because of an internal error; nothing "
                "was applied. The administrator can find the details in the log."
            ),
        )
    else:
        logger.info("import job %s done: %s", job.pk, counts)
    return job


def fail_interrupted_jobs() -> int:
    """Mark jobs left reading or applying by a stopped worker as failed.

    Their changes were never committed (a job applies in one transaction), so nothing is lost:
    the user is told to upload the file again.
    """
    interrupted = ImportJob.objects.filter(status__in=(JobStatus.READING, JobStatus.APPLYING))
    for job in interrupted:
        _fail(
            job,
            _(
                "The job was interrupted (the worker stopped); nothing was applied. "
                "Upload the file again."
            ),
        )
    return len(interrupted)


def _process(job: ImportJob) -> dict[str, Any]:
    totals: list[TotalsLine] = []
    if job.layout.files:
        importer: Importer = read_assignment(job, lambda n: _progress(job, n))
    else:
        importer = _read(job, totals)
    if importer.rows == 0:
        raise ReadError(_("The file has a header but no rows."))
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.APPLYING, rows_done=importer.rows)
    job.rows_done = importer.rows
    with transaction.atomic():
        # A second upload of the same bytes may have been applied while this one was read.
        earlier = None if job.dry_run else previous_application(job)
        if earlier is not None:
            raise AlreadyApplied(earlier)
        started = time.monotonic()
        importer.apply()
        # Done in the same transaction as the changes: a worker stopped right after the
        # commit must not leave applied changes behind a job that says nothing was applied.
        job.counts = importer.counts
        if totals:
            job.counts = {**job.counts, "totals_line": totals_counts(job, totals)}
        job.status = JobStatus.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["counts", "status", "finished_at", "rows_done"])
    # The commit itself (PostgreSQL checks the foreign keys then) is part of the job's time.
    job.finished_at = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(finished_at=job.finished_at)
    logger.info("import job %s applied in %.1fs", job.pk, time.monotonic() - started)
    return job.counts


def _read(job: ImportJob, totals: list[TotalsLine]) -> Importer:
    layout = job.layout
    expected = [c["header"] for c in layout.columns.values()]
    with job.file.open("rb") as stored:
        # Not kept in a variable: a CSV's bytes can go once they are decoded.
        table = open_table(
            stored.read(), job.original_name, expected_headers=expected, sheet=layout.sheet or None
        )
    parser = RowParser(layout, table.headers)
    job.detected_format = detected_format(table)
    job.rows_total = table.estimated_rows
    job.save(update_fields=["detected_format", "rows_total"])

    importer = IMPORTERS[job.kind](job, parser)
    started = time.monotonic()
    importer.read(without_totals_lines(table.rows, parser, totals), lambda n: _progress(job, n))
    logger.info(
        "import job %s read %s rows in %.1fs", job.pk, importer.rows, time.monotonic() - started
    )
    return importer


def _progress(job: ImportJob, rows_done: int) -> None:
    ImportJob.objects.filter(pk=job.pk).update(rows_done=rows_done)


def _fail(
    job: ImportJob,
    message: str,
    status: JobStatus = JobStatus.FAILED,
    earlier: ImportJob | None = None,
) -> None:
    job.rows.all().delete()
    job.status = status
    job.error = message
    job.duplicate_of = earlier
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "duplicate_of", "finished_at"])
    logger.warning("import job %s failed", job.pk)


def confirm_blockers(preview: ImportJob) -> list[str]:
    """Why a preview cannot be applied now; empty when it can.

    A preview can be applied while it is finished and its bytes are neither applied nor being
    applied by another job of the same creditor and layout.
    """
    if not preview.dry_run:
        return [_("Only a preview can be confirmed: this job was not a preview.")]
    if preview.status != JobStatus.DONE:
        return [_("Only a completed preview can be confirmed.")]
    earlier = previous_application(preview)
    if earlier is not None:
        return [
            _(
                "This file was applied by job #%(job)s on %(when)s, so the preview can no "
                "longer be confirmed."
            )
            % {
                "job": earlier.pk,
                "when": timezone.localtime(earlier.created_at).strftime("%d/%m/%Y %H:%M"),
            }
        ]
    pending = (
        ImportJob.objects.filter(
            creditor_id=preview.creditor_id,
            layout_id=preview.layout_id,
            sha256=preview.sha256,
            dry_run=False,
            status__in=(JobStatus.QUEUED, JobStatus.READING, JobStatus.APPLYING),
        )
        .order_by("created_at")
        .first()
    )
    if pending is not None:
        return [_("This file is already being applied by job #%(job)s.") % {"job": pending.pk}]
    return []


def confirm_preview(preview: ImportJob, user: User | None) -> ImportJob:
    """Apply a finished preview: a new job of the same stored bytes, queued like an upload.

    The file is read and matched again when the job runs, against the cases as they are then.
    """
    blockers = confirm_blockers(preview)
    if blockers:
        raise SubmitError(" ".join(blockers))
    try:
        files = stored_files(preview)
    except FileNotFoundError as exc:
        raise SubmitError(_("The previewed file is no longer stored: upload it again.")) from exc
    if set_digest(files) != preview.sha256:
        raise SubmitError(_("The stored file is not the one previewed: upload it again."))
    with transaction.atomic():
        job = submit_import(
            user=user,
            creditor=preview.creditor,
            layout=preview.layout,
            name=files[0].name,
            data=files[0].data,
            more_files=[(f.name, f.data) for f in files[1:]],
        )
        job.confirmed_from = preview
        job.save(update_fields=["confirmed_from"])
    enqueue_import(job)
    logger.info("import job %s confirms preview %s", job.pk, preview.pk)
    return job
