"""The batch list table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.db.models import F, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from core.templatetags.money import euro
from creditors.models import Batch, BatchState
from creditors.reports import format_rate, recovery_rate, recovery_rate_sort_key

MONEY_ATTRS = {"th": {"class": "text-end"}, "td": {"class": "money"}}
NUMBER_ATTRS = {"th": {"class": "text-end"}, "td": {"class": "text-end"}}
STATE_TONES = {
    BatchState.OPEN: "primary",
    BatchState.RETURNED: "warning",
    BatchState.CLOSED: "secondary",
}


def state_badge(batch: Batch) -> SafeString:
    return format_html(
        '<span class="badge text-bg-{}">{}</span>',
        STATE_TONES.get(BatchState(batch.state), "secondary"),
        batch.get_state_display(),
    )


class BatchTable(tables.Table):
    creditor = tables.Column(accessor="creditor__code", verbose_name=_("Creditor"))
    code = tables.Column(
        verbose_name=_("Batch"), linkify=("creditors:batch-detail", [tables.A("pk")])
    )
    kind = tables.Column(verbose_name=_("Kind"))
    state = tables.Column(verbose_name=_("State"))
    assigned_on = tables.DateColumn(format="d/m/Y", verbose_name=_("Assigned on"))
    returned_on = tables.DateColumn(format="d/m/Y", verbose_name=_("Returned on"), default="—")
    case_count = tables.Column(verbose_name=_("Cases"), attrs=NUMBER_ATTRS)
    assigned = tables.Column(verbose_name=_("Amount assigned"), attrs=MONEY_ATTRS)
    collected = tables.Column(verbose_name=_("Collected"), attrs=MONEY_ATTRS)
    recovery_rate = tables.Column(
        verbose_name=_("Recovery rate"), accessor="pk", attrs=NUMBER_ATTRS
    )

    class Meta:
        model = Batch
        fields: tuple[str, ...] = ()
        sequence = (
            "creditor",
            "code",
            "kind",
            "state",
            "assigned_on",
            "returned_on",
            "case_count",
            "assigned",
            "collected",
            "recovery_rate",
        )
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("No batches match these filters.")

    def render_state(self, record: Batch) -> SafeString:
        return state_badge(record)

    def render_assigned(self, value: Decimal) -> str:
        return euro(value)

    def render_collected(self, value: Decimal) -> str:
        return euro(value)

    def render_recovery_rate(self, record: Any) -> str:
        return format_rate(recovery_rate(record.collected, record.assigned))

    def order_recovery_rate(
        self, queryset: QuerySet[Batch], is_descending: bool
    ) -> tuple[QuerySet[Batch], bool]:
        # Batches with nothing assigned have no rate: they go last whichever the direction.
        rate = F("recovery_rate_sort")
        ordering = rate.desc(nulls_last=True) if is_descending else rate.asc(nulls_last=True)
        queryset = queryset.annotate(recovery_rate_sort=recovery_rate_sort_key())
        return queryset.order_by(ordering, "pk"), True
