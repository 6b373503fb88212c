"""Filters of the case list and of the cases API, limited to what the user may see."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from cases.models import Case, CaseQuerySet, CaseState
from cases.queries import search_cases
from core.forms import BootstrapFilterForm
from creditors.models import Batch, Creditor, CreditorQuerySet

YES_NO_ALL = [("", _("All")), ("true", _("Yes")), ("false", _("No"))]


def visible_creditors(request: HttpRequest | None) -> CreditorQuerySet:
    # Schema generation builds the filters without a request: offer nothing rather than all.
    if request is None or not request.user.is_authenticated:
        return Creditor.objects.none()
    return Creditor.objects.visible_to(request.user)


def visible_batches(request: HttpRequest | None) -> QuerySet[Batch]:
    creditors = visible_creditors(request)
    return Batch.objects.filter(creditor__in=creditors).select_related("creditor")


def visible_assignees(request: HttpRequest | None) -> QuerySet[User]:
    """Users holding at least one case the requester may see, so no other creditor's staff leaks."""
    if request is None or not request.user.is_authenticated:
        return User.objects.none()
    cases = Case.objects.visible_to(request.user).filter(assignee__isnull=False)
    return User.objects.filter(pk__in=cases.values("assignee")).order_by("username")


class BatchChoiceField(forms.ModelChoiceField):
    # Batch codes are the creditor's own and may repeat across creditors.
    def label_from_instance(self, obj: Batch) -> str:
        return f"{obj.creditor.code} · {obj.code}"


class BatchFilter(django_filters.ModelChoiceFilter):
    field_class = BatchChoiceField


CaseFilterForm = BootstrapFilterForm


class BaseCaseFilterSet(django_filters.FilterSet):
    creditor = django_filters.ModelChoiceFilter(
        queryset=visible_creditors, label=_("Creditor"), empty_label=_("All")
    )
    batch = BatchFilter(queryset=visible_batches, label=_("Batch"), empty_label=_("All"))
    state = django_filters.ChoiceFilter(
        choices=CaseState.choices, label=_("State"), empty_label=_("All")
    )
    assignee = django_filters.ModelChoiceFilter(
        queryset=visible_assignees, label=_("Assignee"), empty_label=_("All")
    )
    needs_attention = django_filters.BooleanFilter(
        label=_("To review"), widget=forms.Select(choices=YES_NO_ALL)
    )

    class Meta:
        model = Case
        fields: list[str] = []
        form = CaseFilterForm

    def filter_search(self, queryset: CaseQuerySet, name: str, value: str) -> CaseQuerySet:
        return search_cases(queryset, value)


class CaseFilterSet(BaseCaseFilterSet):
    """The case list's filters, with the search box as `q`."""

    q = django_filters.CharFilter(
        method="filter_search",
        label=_("Search"),
        widget=forms.TextInput(
            attrs={"placeholder": _("Contract, name or tax code"), "type": "search"}
        ),
    )


class CaseApiFilterSet(BaseCaseFilterSet):
    """The cases API's filters, with the search as `search` like other DRF APIs."""

    search = django_filters.CharFilter(
        method="filter_search", label=_("Contract number (prefix), debtor name or tax code")
    )
