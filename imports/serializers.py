"""What the imports API reads and shows: creditors by code, layouts by slug, money as decimals."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.settings import api_settings

from accounts.models import User
from cases.models import Installment
from creditors.models import Creditor
from imports.forms import ImportUploadForm
from imports.models import ImportJob, ImportRow, JobStatus, Layout
from imports.reports import job_summary, row_reason


class ImportUploadApiForm(ImportUploadForm):
    """The upload page's rules, for a caller naming the creditor by code and the layout by slug.

    The API's address names no kind of file: the layout chosen says which kind it is.
    """

    def __init__(self, data: dict[str, Any], files: dict[str, Any], *, user: User) -> None:
        slug = str(data.get("layout", ""))
        kind = Layout.objects.filter(slug=slug).values_list("kind", flat=True).first() or ""
        super().__init__(data, files, user=user, kind=kind)
        cast(forms.ModelChoiceField[Creditor], self.fields["creditor"]).to_field_name = "code"
        cast(forms.ModelChoiceField[Layout], self.fields["layout"]).to_field_name = "slug"


@extend_schema_field(OpenApiTypes.BINARY)
class UploadedFileField(serializers.FileField):
    """A file sent as a multipart part, documented as bytes rather than as a link."""


class ImportUploadSerializer(serializers.Serializer[dict[str, Any]]):
    """A creditor file to process; the checks are the upload page's, so both refuse alike."""

    creditor = serializers.CharField(help_text=_("The creditor's code, e.g. COMPASS."))
    layout = serializers.CharField(help_text=_("The layout's code, e.g. compass-insoluti."))
    # An empty file is refused by the service, with a message that names the file. A layout
    # that reads an assignment sent as several files takes them all, each as a `file` part.
    file = serializers.ListField(
        child=UploadedFileField(allow_empty_file=True),
        min_length=1,
        error_messages={"required": UploadedFileField.default_error_messages["required"]},
        help_text=_(
            "CSV, Excel (.xlsx, .xls) or OpenDocument (.ods). For a layout that reads several "
            "files, send each as a `file` part, named after its part or in the layout's order."
        ),
    )
    dry_run = serializers.BooleanField(
        default=False, help_text=_("Only show what the file would change; apply nothing.")
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        form = ImportUploadApiForm(
            {key: attrs[key] for key in ("creditor", "layout", "dry_run")},
            MultiValueDict({"file": attrs["file"]}),
            user=self.context["request"].user,
        )
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form))
        return form.cleaned_data


def form_errors(form: forms.Form) -> dict[str, list[ErrorDetail]]:
    """A Django form's errors as DRF field errors, keeping each error's code."""
    return {
        api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field: [
            ErrorDetail(str(message), code=error.code)
            for error in errors
            for message in error.messages
        ]
        for field, errors in form.errors.as_data().items()
    }


class ImportJobUrlsSerializer(serializers.Serializer[ImportJob]):
    """Where the job's page and files are; the row reports exist once the job is done."""

    page = serializers.SerializerMethodField()
    file = serializers.SerializerMethodField()
    xlsx = serializers.SerializerMethodField()
    csv = serializers.SerializerMethodField()

    def get_page(self, job: ImportJob) -> str:
        return self._absolute(reverse("imports:job", kwargs={"pk": job.pk}))

    def get_file(self, job: ImportJob) -> str:
        return self._absolute(reverse("imports:job-file", kwargs={"pk": job.pk}))

    def get_xlsx(self, job: ImportJob) -> str | None:
        return self._download(job, "xlsx")

    def get_csv(self, job: ImportJob) -> str | None:
        return self._download(job, "csv")

    def _download(self, job: ImportJob, fmt: str) -> str | None:
        if job.status != JobStatus.DONE:
            return None
        return self._absolute(reverse("imports:job-download", kwargs={"pk": job.pk, "fmt": fmt}))

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return path if request is None else request.build_absolute_uri(path)


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    """A job with its progress, its counts, and its outcome as one flat `summary` object.

    Lists and details show the same fields, so a client polling a job reads one shape.
    """

    creditor: serializers.SlugRelatedField[Creditor] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    layout: serializers.SlugRelatedField[Layout] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    file_name = serializers.CharField(source="original_name", read_only=True)
    progress_percent = serializers.IntegerField(read_only=True)
    summary = serializers.SerializerMethodField()
    urls = ImportJobUrlsSerializer(source="*", read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "creditor",
            "layout",
            "kind",
            "file_name",
            "status",
            "dry_run",
            "rows_total",
            "rows_done",
            "progress_percent",
            "counts",
            "error",
            "duplicate_of",
            "created_at",
            "started_at",
            "finished_at",
            "summary",
            "urls",
        ]
        read_only_fields = fields

    def get_summary(self, job: ImportJob) -> dict[str, Any]:
        return job_summary(job)


class ImportAlreadyAppliedSerializer(serializers.Serializer[dict[str, Any]]):
    """The answer to a file whose same bytes an earlier job already applied."""

    detail = serializers.CharField()
    code = serializers.CharField()
    job = serializers.IntegerField(help_text=_("The job recording the refused upload."))
    duplicate_of = serializers.IntegerField(help_text=_("The job that applied the file."))


class ComparedInstallmentSerializer(serializers.ModelSerializer[Installment]):
    class Meta:
        model = Installment
        fields = ["id", "number", "due_date", "amount", "payment_method"]


class ImportRowSerializer(serializers.ModelSerializer[ImportRow]):
    """One row of the file as read, its outcome, and the installment it was nearest to."""

    reason = serializers.SerializerMethodField()
    closest = ComparedInstallmentSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ImportRow
        fields = [
            "number",
            "outcome",
            "message",
            "reason",
            "contract_number",
            "installment_number",
            "due_date",
            "amount",
            "payment_method",
            "fees",
            "case",
            "installment",
            "closest",
        ]
        read_only_fields = fields

    def get_reason(self, row: ImportRow) -> str:
        return row_reason(row)
