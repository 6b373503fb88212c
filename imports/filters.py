"""Filters of the import pages: a job's rows by outcome or contract, and the jobs list."""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from creditors.models import Creditor, CreditorQuerySet
from imports.models import ImportJob, ImportKind, ImportRow, JobStatus, RowOutcome


class ImportRowFilterSet(django_filters.FilterSet):
    outcome = django_filters.ChoiceFilter(label=_("Outcome"), choices=RowOutcome.choices)
    contract = django_filters.CharFilter(
        label=_("Contract"), field_name="contract_number", lookup_expr="icontains"
    )

    class Meta:
        model = ImportRow
        fields: list[str] = []


def visible_creditors(request: HttpRequest | None) -> CreditorQuerySet:
    user: Any = getattr(request, "user", None)
    if not isinstance(user, User):
        return Creditor.objects.none()
    return Creditor.objects.visible_to(user)


class ImportJobFilterSet(django_filters.FilterSet):
    creditor = django_filters.ModelChoiceFilter(label=_("Creditor"), queryset=visible_creditors)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ImportKind.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=JobStatus.choices)

    class Meta:
        model = ImportJob
        fields: list[str] = []
