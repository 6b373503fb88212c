"""Read-only REST API over cases and creditors, scoped like the pages."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, viewsets

from accounts.models import AuditAction, User
from accounts.services import record_event
from cases.filters import CaseApiFilterSet
from cases.models import Case
from cases.queries import cases_for_list, cases_for_page
from cases.serializers import CaseDetailSerializer, CaseSerializer, CreditorSerializer
from creditors.models import Creditor


class CaseViewSet(viewsets.ReadOnlyModelViewSet[Case]):
    """Cases the user may see; opening one is audited like opening its page."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseApiFilterSet

    def get_queryset(self) -> QuerySet[Case]:
        # The schema generator calls this with an anonymous user, who has no creditors.
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        user = cast(User, self.request.user)
        return cases_for_page(user) if self.action == "retrieve" else cases_for_list(user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Case]]:
        return CaseDetailSerializer if self.action == "retrieve" else CaseSerializer

    def get_object(self) -> Case:
        case = super().get_object()
        record_event(cast(User, self.request.user), AuditAction.VIEW, case)
        return case


class CreditorViewSet(viewsets.ReadOnlyModelViewSet[Creditor]):
    """Creditors the user may see."""

    serializer_class = CreditorSerializer

    def get_queryset(self) -> QuerySet[Creditor]:
        if getattr(self, "swagger_fake_view", False):
            return Creditor.objects.none()
        return Creditor.objects.visible_to(cast(User, self.request.user))
