"""Filters of the batch list, offering only the creditors the user may see."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from cases.filters import visible_creditors
from core.forms import BootstrapFilterForm
from creditors.models import Batch, BatchKind, BatchState

BatchFilterForm = BootstrapFilterForm


class BatchFilterSet(django_filters.FilterSet):
    creditor = django_filters.ModelChoiceFilter(
        queryset=visible_creditors, label=_("Creditor"), empty_label=_("All")
    )
    state = django_filters.ChoiceFilter(
        choices=BatchState.choices, label=_("State"), empty_label=_("All")
    )
    kind = django_filters.ChoiceFilter(
        choices=BatchKind.choices, label=_("Kind"), empty_label=_("All")
    )
    code = django_filters.CharFilter(
        lookup_expr="icontains",
        label=_("Batch code"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )

    class Meta:
        model = Batch
        fields: list[str] = []
        form = BatchFilterForm
