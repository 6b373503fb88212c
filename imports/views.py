"""Pages to upload creditor files and follow their jobs; each view calls one service and answers."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import IO, Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView
from django_filters.views import FilterView
from django_tables2 import Table

from accounts.models import User
from core.tables import FixedPageSize, FixedPageSizeMixin
from imports.filters import ImportJobFilterSet, ImportRowFilterSet
from imports.forms import ImportUploadForm
from imports.models import ImportJob, ImportKind, JobStatus, RowOutcome
from imports.reports import (
    outcome_counts,
    report_filename,
    report_rows,
    summary_cards,
    write_rows_csv,
    write_rows_xlsx,
)
from imports.services import (
    SubmitError,
    confirm_blockers,
    confirm_preview,
    enqueue_import,
    submit_import,
)
from imports.tables import (
    STATUS_TONES,
    AcquisitionRowTable,
    ImportJobTable,
    PreInvoiceRowTable,
    UnpaidRowTable,
)
from imports.totals import totals_message
from imports.undo import UndoRefused, undo_blockers, undo_effects, undo_job

ROWS_PER_PAGE = 50
ROW_TABLES: dict[str, type[Table]] = {
    ImportKind.UNPAID: UnpaidRowTable,
    ImportKind.PRE_INVOICE: PreInvoiceRowTable,
}
# A preview lists its rows not valid on the page itself, up to this many; the rest are in the
# downloads and in the rows table filtered by outcome.
ERROR_ROWS_SHOWN = 1000
DELIMITERS: dict[str, Any] = {
    ";": gettext_lazy("; (semicolon)"),
    ",": gettext_lazy(", (comma)"),
    "\t": gettext_lazy("tab"),
    "|": "|",
}
JOBS_PER_PAGE = 25
# Reports are built in memory up to this size, then in a temporary file.
SPOOL_BYTES = 16 * 1024 * 1024
DOWNLOADS: dict[str, tuple[Callable[[ImportJob, IO[bytes]], None], str]] = {
    "xlsx": (
        write_rows_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "csv": (write_rows_csv, "text/csv; charset=utf-8"),
}


def current_user(request: HttpRequest) -> User:
    # Every view here requires a login, so the user is never anonymous.
    return cast(User, request.user)


class VisibleJobMixin(LoginRequiredMixin):
    """Jobs of creditors the user may not see do not exist for them: 404, never 403."""

    request: HttpRequest

    def get_queryset(self) -> Any:
        return ImportJob.objects.visible_to(current_user(self.request)).select_related(
            "creditor", "layout", "created_by", "duplicate_of", "confirmed_from", "undone_by"
        )

    def get_job(self, pk: int) -> ImportJob:
        return cast(ImportJob, get_object_or_404(self.get_queryset(), pk=pk))


class ImportUploadView(LoginRequiredMixin, UserPassesTestMixin, FormView[ImportUploadForm]):
    template_name = "imports/upload.html"
    form_class = ImportUploadForm

    def test_func(self) -> bool:
        return current_user(self.request).can_import

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs.update(user=current_user(self.request), kind=self.kwargs["kind"])
        if self.request.method == "GET":
            # The page reloads the layouts when the creditor changes, asking with ?creditor=.
            kwargs["initial"] = {"creditor": self.request.GET.get("creditor")}
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        kind = ImportKind(self.kwargs["kind"])
        return super().get_context_data(kind=kind, title=kind.label, **kwargs)

    def form_valid(self, form: ImportUploadForm) -> HttpResponse:
        data = form.cleaned_data
        upload = data["file"]
        try:
            job = submit_import(
                user=current_user(self.request),
                creditor=data["creditor"],
                layout=data["layout"],
                name=upload.name,
                data=upload.read(),
                dry_run=data["dry_run"],
                more_files=form.more_files(),
            )
        except SubmitError as exc:
            form.add_error(None, str(exc))
            return self.form_invalid(form)
        enqueue_import(job)
        return redirect("imports:job", pk=job.pk)


class ImportJobListView(LoginRequiredMixin, FixedPageSizeMixin, FilterView):
    template_name = "imports/job_list.html"
    table_class = ImportJobTable
    filterset_class = ImportJobFilterSet
    table_pagination = {"per_page": JOBS_PER_PAGE}

    def get_queryset(self) -> Any:
        return ImportJob.objects.visible_to(current_user(self.request)).select_related(
            "creditor", "created_by"
        )


class ImportJobDetailView(VisibleJobMixin, DetailView[ImportJob]):
    template_name = "imports/job_detail.html"
    context_object_name = "job"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        job: ImportJob = self.object
        context["status_tone"] = STATUS_TONES.get(JobStatus(job.status), "secondary")
        if job.status in (JobStatus.DONE, JobStatus.UNDONE):
            context.update(self.results(job))
        if job.dry_run and job.status == JobStatus.DONE:
            context.update(self.preview(job))
        context["may_undo"] = job.is_applied and current_user(self.request).can_import
        # The draft a pre-invoice file made of the payments it commissioned.
        context["pre_invoices"] = (
            list(job.pre_invoices.order_by("pk")) if job.kind == ImportKind.PRE_INVOICE else []
        )
        return context

    def preview(self, job: ImportJob) -> dict[str, Any]:
        """What a preview shows before it is confirmed: how the file was read, its rows not
        valid, and whether it can still be applied."""
        errors = job.rows.filter(outcome=RowOutcome.ERROR).order_by("number")
        may_import = current_user(self.request).can_import
        return {
            "file_format": file_format_facts(job.detected_format),
            "error_rows": errors[:ERROR_ROWS_SHOWN],
            "error_rows_shown": ERROR_ROWS_SHOWN,
            "confirm_blockers": confirm_blockers(job) if may_import else [],
            "may_confirm": may_import,
            "confirmations": job.confirmations.order_by("created_at"),
        }

    def results(self, job: ImportJob) -> dict[str, Any]:
        filterset = ImportRowFilterSet(self.request.GET, queryset=report_rows(job))
        table_class = ROW_TABLES.get(job.kind, AcquisitionRowTable)
        table = table_class(filterset.qs)
        FixedPageSize(self.request, ROWS_PER_PAGE).configure(table)
        counts = outcome_counts(job)
        totals = job.counts.get("totals_line") or {}
        return {
            "cards": summary_cards(job),
            "totals_message": totals_message(job.counts),
            "totals_differ": totals.get("agrees") is False,
            "filter": filterset,
            "table": table,
            "outcome_counts": counts,
            "rows_total": sum(n for _value, _label, n in counts),
            "selected_outcome": self.request.GET.get("outcome", ""),
        }


def file_format_facts(detected: dict[str, Any]) -> list[tuple[str, Any]]:
    """How the file was read, as (label, value) pairs for the job page."""
    facts: list[tuple[str, Any]] = [(_("File type"), str(detected.get("kind", "")).upper())]
    if detected.get("encoding"):
        facts.append((_("Encoding"), detected["encoding"]))
    if detected.get("delimiter"):
        delimiter = detected["delimiter"]
        facts.append((_("Delimiter"), DELIMITERS.get(delimiter, delimiter)))
    if detected.get("sheet"):
        facts.append((_("Sheet"), detected["sheet"]))
    facts.append((_("Header row"), detected.get("header_row", "")))
    return facts


class ImportJobConfirmView(VisibleJobMixin, View):
    """Apply a finished preview: its stored file becomes a new job, queued like an upload."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        preview = self.get_job(pk)
        user = current_user(request)
        if not user.can_import:
            raise PermissionDenied
        try:
            job = confirm_preview(preview, user)
        except SubmitError as exc:
            messages.error(request, str(exc))
            return redirect("imports:job", pk=preview.pk)
        return redirect("imports:job", pk=job.pk)


class UndoMixin(VisibleJobMixin):
    """Undo is for those who may import: others get 403 on jobs they see, 404 on the rest."""

    def get_undoable_job(self, pk: int) -> ImportJob:
        job = self.get_job(pk)
        if not current_user(self.request).can_import:
            raise PermissionDenied
        return job


class ImportJobUndoPanelView(UndoMixin, View):
    """The job page's undo button, or what blocks the undo; loaded after the page, since
    finding the blockers of a large job takes a few queries over all its rows."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.get_undoable_job(pk)
        blockers = undo_blockers(job) if job.is_applied else []
        return render(request, "imports/_undo_panel.html", {"job": job, "undo_blockers": blockers})


class ImportJobUndoView(UndoMixin, View):
    """Undo an applied job after the user has seen what it will delete or restore."""

    template_name = "imports/job_undo.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.get_undoable_job(pk)
        return self.page(job, undo_blockers(job))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.get_undoable_job(pk)
        try:
            undo_job(job, current_user(request))
        except UndoRefused as exc:
            return self.page(job, exc.reasons, status=409)
        messages.success(request, _("Job #%(job)s was undone.") % {"job": job.pk})
        return redirect("imports:job", pk=job.pk)

    def page(self, job: ImportJob, blockers: list[str], status: int = 200) -> HttpResponse:
        context = {
            "job": job,
            "undo_blockers": blockers,
            "effects": {} if blockers else undo_effects(job),
        }
        return render(self.request, self.template_name, context, status=status)


class ImportJobProgressView(VisibleJobMixin, DetailView[ImportJob]):
    """The progress bar the job page polls; once the job ends it asks the page to reload."""

    template_name = "imports/_job_progress.html"
    context_object_name = "job"

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        if self.object.is_finished:
            response["HX-Refresh"] = "true"
        return response


class ImportJobDownloadView(VisibleJobMixin, View):
    """The job's rows with their outcome and reason, as XLSX or CSV."""

    def get(self, request: HttpRequest, pk: int, fmt: str) -> FileResponse:
        job = self.get_job(pk)
        write, content_type = DOWNLOADS[fmt]
        stream = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 -- FileResponse closes it
        write(job, stream)
        stream.seek(0)
        return FileResponse(
            stream,
            as_attachment=True,
            filename=report_filename(job, fmt),
            content_type=content_type,
        )


class ImportJobFileView(VisibleJobMixin, View):
    """The bytes the user uploaded, unchanged, under the name they had."""

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        job = self.get_job(pk)
        try:
            handle = job.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404(_("The uploaded file is no longer stored.")) from exc
        return FileResponse(handle, as_attachment=True, filename=job.original_name)
