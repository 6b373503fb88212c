"""Filters of the pre-invoice list and the commission overview, offering only what the user may
see."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from billing.models import PreInvoice, PreInvoiceState
from cases.filters import BatchFilter, visible_batches, visible_creditors
from cases.models import Payment
from core.forms import BootstrapFilterForm


class PreInvoiceFilterSet(django_filters.FilterSet):
    creditor = django_filters.ModelChoiceFilter(
        queryset=visible_creditors, label=_("Creditor"), empty_label=_("All")
    )
    state = django_filters.ChoiceFilter(
        choices=PreInvoiceState.choices, label=_("State"), empty_label=_("All")
    )

    class Meta:
        model = PreInvoice
        fields: list[str] = []
        form = BootstrapFilterForm


class OverviewFilterSet(django_filters.FilterSet):
    creditor = django_filters.ModelChoiceFilter(
        field_name="case__creditor",
        queryset=visible_creditors,
        label=_("Creditor"),
        empty_label=_("All"),
    )
    batch = BatchFilter(
        field_name="case__batch", queryset=visible_batches, label=_("Batch"), empty_label=_("All")
    )
    paid_from = django_filters.DateFilter(
        field_name="paid_on",
        lookup_expr="gte",
        label=_("Paid from"),
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )
    paid_to = django_filters.DateFilter(
        field_name="paid_on",
        lookup_expr="lte",
        label=_("Paid to"),
        widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = Payment
        fields: list[str] = []
        form = BootstrapFilterForm
