"""The case list table."""

from __future__ import annotations

from decimal import Decimal

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from core.templatetags.money import euro


class CaseTable(tables.Table):
    contract_number = tables.Column(
        verbose_name=_("Contract"), linkify=("cases:detail", [tables.A("pk")])
    )
    creditor = tables.Column(accessor="creditor__code", verbose_name=_("Creditor"))
    batch = tables.Column(accessor="batch__code", verbose_name=_("Batch"))
    main_debtor_name = tables.Column(verbose_name=_("Debtor"), default="—")
    product = tables.Column(verbose_name=_("Product"))
    state = tables.Column(verbose_name=_("State"))
    assignee = tables.Column(verbose_name=_("Assignee"), default="—")
    needs_attention = tables.Column(
        verbose_name=_("To review"), attrs={"td": {"class": "text-center"}}
    )
    total_requested = tables.Column(
        verbose_name=_("Total requested"),
        attrs={"th": {"class": "text-end"}, "td": {"class": "money"}},
    )

    class Meta:
        model = Case
        fields: tuple[str, ...] = ()
        sequence = (
            "contract_number",
            "creditor",
            "batch",
            "main_debtor_name",
            "product",
            "state",
            "assignee",
            "needs_attention",
            "total_requested",
        )
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("No cases match these filters.")

    def render_needs_attention(self, value: bool) -> SafeString | str:
        if not value:
            return ""
        return format_html(
            '<i class="bi bi-flag-fill text-danger" title="{0}" aria-label="{0}"></i>',
            _("To review"),
        )

    def render_total_requested(self, value: Decimal) -> str:
        return euro(value)
