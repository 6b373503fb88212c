"""REST API to upload creditor files and follow their jobs, scoped like the pages."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from imports.filters import ImportJobFilterSet, ImportRowFilterSet, visible_creditors
from imports.models import ImportJob, ImportRow, JobStatus
from imports.reports import report_rows
from imports.serializers import (
    ImportAlreadyAppliedSerializer,
    ImportJobSerializer,
    ImportRowSerializer,
    ImportUploadSerializer,
)
from imports.services import SubmitError, enqueue_import, submit_import


class MayImportOrReadOnly(permissions.BasePermission):
    """Anyone may follow the jobs of their creditors; only those who may import upload."""

    message = _("Only back office, team leaders and administrators may upload creditor files.")
    code = "may_not_import"

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return cast(User, request.user).can_import


class ImportJobApiFilterSet(ImportJobFilterSet):
    """The jobs list's filters, with the creditor named by its code."""

    creditor = django_filters.ModelChoiceFilter(
        label=_("Creditor"), queryset=visible_creditors, to_field_name="code"
    )


@extend_schema(tags=["imports"])
@extend_schema_view(
    list=extend_schema(description=_("Jobs of the creditors the user may see, newest first.")),
    retrieve=extend_schema(
        description=_("One job; a job of a creditor the user may not see is not found.")
    ),
)
class ImportJobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ImportJob],
):
    """Jobs of the creditors the user may see; another creditor's job is not found, never 403."""

    permission_classes = [permissions.IsAuthenticated, MayImportOrReadOnly]
    parser_classes = [MultiPartParser]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ImportJobApiFilterSet

    def get_queryset(self) -> QuerySet[ImportJob]:
        # The schema generator calls this with an anonymous user, who has no creditors.
        if getattr(self, "swagger_fake_view", False):
            return ImportJob.objects.none()
        user = cast(User, self.request.user)
        return ImportJob.objects.visible_to(user).select_related("creditor", "layout")

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        return ImportUploadSerializer if self.action == "create" else ImportJobSerializer

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            201: ImportJobSerializer,
            400: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=_("The field errors: unknown creditor or layout, empty or large file."),
            ),
            403: OpenApiResponse(description=_("The user may not upload creditor files.")),
            409: OpenApiResponse(
                ImportAlreadyAppliedSerializer,
                description=_(
                    "An earlier job already applied the same bytes for this creditor and layout: "
                    "nothing is applied again. The refused upload is kept as a job of its own."
                ),
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Queue a creditor file to be read and applied in the background."""
        upload = self.get_serializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        try:
            job = submit_import(
                user=cast(User, request.user),
                creditor=data["creditor"],
                layout=data["layout"],
                name=data["file"].name,
                data=data["file"].read(),
                dry_run=data["dry_run"],
                more_files=[(f.name, f.read()) for f in data["more_files"]],
            )
        except SubmitError as exc:
            # The creditor and the layout passed the form already: what is left is the file.
            raise serializers.ValidationError({"file": [str(exc)]}) from exc
        enqueue_import(job)
        if job.status == JobStatus.ALREADY_APPLIED:
            return Response(already_applied(job), status=status.HTTP_409_CONFLICT)
        body = ImportJobSerializer(job, context=self.get_serializer_context()).data
        location = request.build_absolute_uri(reverse("api:import-job-detail", args=[job.pk]))
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


def already_applied(job: ImportJob) -> dict[str, Any]:
    return {
        "detail": job.error,
        "code": JobStatus.ALREADY_APPLIED.value,
        "job": job.pk,
        "duplicate_of": job.duplicate_of_id,
    }


@extend_schema(
    tags=["imports"],
    parameters=[
        OpenApiParameter(
            "job_pk", int, OpenApiParameter.PATH, description=_("The import job's id.")
        )
    ],
)
class ImportRowViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[ImportRow]):
    """A visible job's rows in file order, with the installments they were compared with."""

    serializer_class = ImportRowSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ImportRowFilterSet

    def get_queryset(self) -> QuerySet[ImportRow]:
        if getattr(self, "swagger_fake_view", False):
            return ImportRow.objects.none()
        jobs = ImportJob.objects.visible_to(cast(User, self.request.user))
        return report_rows(get_object_or_404(jobs, pk=self.kwargs["job_pk"]))
