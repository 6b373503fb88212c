"""The pre-invoice list and the lines of one pre-invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from billing.models import PreInvoice, PreInvoiceState
from core.templatetags.money import euro

MONEY_ATTRS = {"th": {"class": "text-end"}, "td": {"class": "money"}}
NUMBER_ATTRS = {"th": {"class": "text-end"}, "td": {"class": "text-end"}}
REMOVE_BUTTON = """{% load i18n %}<form method="post" class="text-end"
  action="{% url 'billing:pre-invoice-remove-payments' record.pre_invoice_id %}">{% csrf_token %}
  <input type="hidden" name="payment" value="{{ record.pk }}">
  <button type="submit" class="btn btn-sm btn-link text-danger p-0"
    title="{{ remove_title }}"><i class="bi bi-x-circle"></i></button></form>"""
STATE_TONES = {PreInvoiceState.DRAFT: "secondary", PreInvoiceState.CONFIRMED: "success"}


def state_badge(pre_invoice: PreInvoice) -> SafeString:
    return format_html(
        '<span class="badge text-bg-{}">{}</span>',
        STATE_TONES.get(PreInvoiceState(pre_invoice.state), "secondary"),
        pre_invoice.get_state_display(),
    )


class PreInvoiceTable(tables.Table):
    number = tables.Column(
        verbose_name=_("Number"),
        accessor="pk",
        linkify=("billing:pre-invoice-detail", [tables.A("pk")]),
    )
    creditor = tables.Column(accessor="creditor__code", verbose_name=_("Creditor"))
    period_start = tables.DateColumn(format="d/m/Y", verbose_name=_("From"))
    period_end = tables.DateColumn(format="d/m/Y", verbose_name=_("To"))
    state = tables.Column(verbose_name=_("State"))
    line_count = tables.Column(verbose_name=_("Payments"), attrs=NUMBER_ATTRS)
    collected = tables.Column(verbose_name=_("Collected"), attrs=MONEY_ATTRS)
    commission = tables.Column(verbose_name=_("Commission"), attrs=MONEY_ATTRS)

    class Meta:
        model = PreInvoice
        fields: tuple[str, ...] = ()
        sequence = (
            "number",
            "creditor",
            "period_start",
            "period_end",
            "state",
            "line_count",
            "collected",
            "commission",
        )
        attrs = {"class": "table table-sm table-hover align-middle"}
        empty_text = _("No pre-invoices match these filters.")

    def render_number(self, record: PreInvoice) -> str:
        return record.number or _("Draft #%(id)s") % {"id": record.pk}

    def render_state(self, record: PreInvoice) -> SafeString:
        return state_badge(record)

    def render_collected(self, value: Decimal) -> str:
        return euro(value)

    def render_commission(self, value: Decimal) -> str:
        return euro(value)


class PreInvoiceLineTable(tables.Table):
    contract = tables.Column(
        accessor="case__contract_number",
        verbose_name=_("Contract"),
        linkify=("cases:detail", [tables.A("case_id")]),
        orderable=False,
    )
    debtor_name = tables.Column(verbose_name=_("Debtor"), default="—", orderable=False)
    paid_on = tables.DateColumn(format="d/m/Y", verbose_name=_("Paid on"), orderable=False)
    amount = tables.Column(verbose_name=_("Amount"), attrs=MONEY_ATTRS, orderable=False)
    commission_rate = tables.Column(
        verbose_name=_("Rate (%)"), attrs=NUMBER_ATTRS, default="—", orderable=False
    )
    commission = tables.Column(
        verbose_name=_("Commission"), attrs=MONEY_ATTRS, default="—", orderable=False
    )

    class Meta:
        attrs = {"class": "table table-sm align-middle"}
        empty_text = _("This pre-invoice has no payments.")

    def render_amount(self, value: Decimal) -> str:
        return euro(value)

    def render_commission(self, value: Decimal) -> str:
        return euro(value)

    @classmethod
    def for_draft(cls, data: Any) -> PreInvoiceLineTable:
        """The lines with a button on each that takes the payment off the draft."""
        remove = tables.TemplateColumn(
            REMOVE_BUTTON,
            verbose_name="",
            orderable=False,
            extra_context={"remove_title": _("Take off this draft")},
        )
        return cls(data, extra_columns=[("remove", remove)])

    def render_commission_rate(self, value: Any) -> str:
        return number_format(value, 2)
