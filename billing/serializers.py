"""What the billing API reads and shows: creditors and batches by code, money and rates as decimal
strings, dates as ISO dates. Terms and new pre-invoices are checked by the pages' own forms, so
the page, the API and the command line refuse alike."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.documents import PreInvoiceTotals
from billing.forms import (
    BaseTierFormSet,
    CommissionTermsForm,
    CommissionTierFormSet,
    InvoiceExportForm,
    PreInvoiceCreateForm,
)
from billing.models import CommissionBasis, CommissionTerms, CommissionTier, PreInvoice
from billing.overview import MonthFigures
from cases.models import Payment
from creditors.models import Batch, Creditor
from imports.serializers import form_errors

TIERS_PREFIX = "tiers"


def terms_forms(
    terms: CommissionTerms,
    basis: str,
    rate: Any,
    cap: Any,
    tiers: list[tuple[Any, Any]] | None,
) -> tuple[CommissionTermsForm, BaseTierFormSet]:
    """The terms page's form and tier formset, bound to plain values and validated.

    `tiers` replaces the terms' tiers as a whole (None keeps them): the existing ones are
    sent as removed and the given ones as new, as a user emptying and refilling the page would.
    """
    existing = list(terms.tiers.all()) if terms.pk else []
    if tiers is None:
        tiers = [(tier.threshold, tier.rate) for tier in existing]
    data: dict[str, Any] = {
        "basis": basis,
        "rate": rate,
        "cap": "" if cap is None else cap,
        f"{TIERS_PREFIX}-TOTAL_FORMS": len(existing) + len(tiers),
        f"{TIERS_PREFIX}-INITIAL_FORMS": len(existing),
    }
    for index, tier in enumerate(existing):
        data.update(
            {
                f"{TIERS_PREFIX}-{index}-id": tier.pk,
                f"{TIERS_PREFIX}-{index}-threshold": tier.threshold,
                f"{TIERS_PREFIX}-{index}-rate": tier.rate,
                f"{TIERS_PREFIX}-{index}-DELETE": "on",
            }
        )
    for index, (threshold, tier_rate) in enumerate(tiers, start=len(existing)):
        data[f"{TIERS_PREFIX}-{index}-threshold"] = threshold
        data[f"{TIERS_PREFIX}-{index}-rate"] = tier_rate
    form = CommissionTermsForm(data, instance=terms)
    queryset = terms.tiers.all() if terms.pk else CommissionTier.objects.none()
    formset = cast(
        BaseTierFormSet,
        CommissionTierFormSet(data, instance=terms, queryset=queryset, prefix=TIERS_PREFIX),
    )
    form.is_valid()
    # The tiers' rules depend on the basis, as on the page.
    formset.basis = form.cleaned_data.get("basis")
    formset.is_valid()
    return form, formset


def terms_errors(form: CommissionTermsForm, formset: BaseTierFormSet) -> dict[str, Any]:
    """The errors of both, as DRF field errors: `tiers` holds one object per given tier, or
    the messages about the tiers together (a repeated threshold, tiers a basis does not take)."""
    errors: dict[str, Any] = form_errors(cast(forms.Form, form))
    given = formset.forms[formset.initial_form_count() :]
    per_tier = [form_errors(cast(forms.Form, tier)) for tier in given]
    if formset.non_form_errors():
        errors[TIERS_PREFIX] = [str(message) for message in formset.non_form_errors()]
    elif any(per_tier):
        errors[TIERS_PREFIX] = per_tier
    return errors


# Commission terms.


class CommissionTierSerializer(serializers.ModelSerializer[CommissionTier]):
    class Meta:
        model = CommissionTier
        fields = ["threshold", "rate"]
        extra_kwargs = {
            "threshold": {
                "help_text": _(
                    "From this many days since assignment, or euro recovered on the case, onwards."
                )
            }
        }


class CommissionTermsSerializer(serializers.ModelSerializer[CommissionTerms]):
    creditor: serializers.SlugRelatedField[Creditor] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    batch: serializers.SlugRelatedField[Batch] = serializers.SlugRelatedField(
        slug_field="code",
        read_only=True,
        allow_null=True,
        help_text=_("Null: the creditor's terms, used by every batch without its own."),
    )
    tiers = CommissionTierSerializer(many=True, read_only=True)

    class Meta:
        model = CommissionTerms
        fields = ["id", "creditor", "batch", "basis", "rate", "cap", "tiers", "updated_at"]


class CommissionTermsChangeSerializer(serializers.Serializer[dict[str, Any]]):
    """New values of existing terms; with PATCH, what is left out stays as it is."""

    basis = serializers.ChoiceField(choices=CommissionBasis.choices)
    rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, help_text=_("Between 0 and 100.")
    )
    cap = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        allow_null=True,
        required=False,
        help_text=_("Most commission the agency can earn on one case; null: no cap."),
    )
    tiers = CommissionTierSerializer(
        many=True,
        required=False,
        help_text=_("Replace the tiers as a whole; left out, the tiers stay as they are."),
    )


class CommissionTermsCreateSerializer(CommissionTermsChangeSerializer):
    creditor = serializers.CharField(help_text=_("The creditor's code, e.g. COMPASS."))
    batch = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=_("A batch's code for terms of that batch only; empty: the creditor's terms."),
    )


# Pre-invoices.


class PreInvoiceSerializer(serializers.ModelSerializer[PreInvoice]):
    creditor: serializers.SlugRelatedField[Creditor] = serializers.SlugRelatedField(
        slug_field="code", read_only=True
    )
    # Not an enum in the schema: several models have a `state` of their own.
    state = serializers.CharField(read_only=True, help_text=_("draft or confirmed."))

    class Meta:
        model = PreInvoice
        fields = [
            "id",
            "number",
            "creditor",
            "period_start",
            "period_end",
            "state",
            "vat_rate",
            "created_at",
            "confirmed_at",
            "invoice_number",
            "invoice_date",
        ]
        read_only_fields = ["invoice_number", "invoice_date"]


class PreInvoiceListSerializer(PreInvoiceSerializer):
    line_count = serializers.IntegerField(read_only=True)
    collected = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, coerce_to_string=True
    )
    commission = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, coerce_to_string=True
    )

    class Meta(PreInvoiceSerializer.Meta):
        fields = [*PreInvoiceSerializer.Meta.fields, "line_count", "collected", "commission"]

    def to_representation(self, instance: PreInvoice) -> dict[str, Any]:
        # A draft without payments sums to nothing: shown as zero, as on the page.
        data = super().to_representation(instance)
        for name in ("collected", "commission"):
            if data[name] is None:
                data[name] = "0.00"
        return data


class PreInvoiceTotalsSerializer(serializers.Serializer[PreInvoiceTotals]):
    lines = serializers.IntegerField()
    collected = serializers.DecimalField(max_digits=14, decimal_places=2)
    commission = serializers.DecimalField(max_digits=14, decimal_places=2)
    vat_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    vat = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text=_("On the commission total, half-up to the cent."),
    )
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class PreInvoiceLineSerializer(serializers.ModelSerializer[Payment]):
    payment = serializers.IntegerField(source="pk", read_only=True)
    case = serializers.IntegerField(source="case_id", read_only=True)
    contract_number = serializers.CharField(source="case.contract_number", read_only=True)
    debtor_name = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Payment
        fields = [
            "payment",
            "case",
            "contract_number",
            "debtor_name",
            "paid_on",
            "amount",
            "commission_rate",
            "commission",
        ]


class PreInvoiceDetailSerializer(PreInvoiceSerializer):
    """The pre-invoice as its page shows it: the lines and the totals."""

    confirmed_by = serializers.CharField(
        source="confirmed_by.username", read_only=True, allow_null=True, default=None
    )
    totals = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()

    class Meta(PreInvoiceSerializer.Meta):
        fields = [*PreInvoiceSerializer.Meta.fields, "confirmed_by", "totals", "lines"]

    @extend_schema_field(PreInvoiceTotalsSerializer)
    def get_totals(self, pre_invoice: PreInvoice) -> dict[str, Any]:
        return dict(PreInvoiceTotalsSerializer(self.context["totals"]).data)

    @extend_schema_field(PreInvoiceLineSerializer(many=True))
    def get_lines(self, pre_invoice: PreInvoice) -> list[dict[str, Any]]:
        return list(PreInvoiceLineSerializer(self.context["lines"], many=True).data)


class PreInvoiceCreateSerializer(serializers.Serializer[dict[str, Any]]):
    """A creditor and a period: the draft gathers the creditor's commissioned payments of the
    period that no pre-invoice holds yet. The checks are the new pre-invoice page's."""

    creditor = serializers.CharField(help_text=_("The creditor's code, e.g. COMPASS."))
    period_start = serializers.DateField()
    period_end = serializers.DateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user = self.context["request"].user
        form = PreInvoiceCreateForm(attrs, creditors=Creditor.objects.visible_to(user))
        cast(forms.ModelChoiceField[Creditor], form.fields["creditor"]).to_field_name = "code"
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form))
        return form.cleaned_data


class InvoiceExportSerializer(serializers.Serializer[dict[str, Any]]):
    """The invoice's number and date, and the customer's data a creditor record lacks; checked
    by the export page's form."""

    number = serializers.CharField(max_length=20)
    date = serializers.DateField()
    street = serializers.CharField(max_length=60)
    postcode = serializers.CharField(max_length=5)
    city = serializers.CharField(max_length=60)
    province = serializers.CharField(max_length=2, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, default="IT")
    recipient_code = serializers.CharField(
        max_length=7, default="0000000", help_text=_("0000000 when the customer receives by PEC.")
    )
    pec = serializers.EmailField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        form = InvoiceExportForm({"province": "", "pec": "", **attrs})
        if not form.is_valid():
            raise serializers.ValidationError(form_errors(form))
        return form.cleaned_data


# Commission overview.


class OverviewRowSerializer(serializers.Serializer[MonthFigures]):
    month = serializers.DateField(help_text=_("The first day of the month the debtors paid in."))
    creditor = serializers.CharField(help_text=_("The creditor's code."))
    batch = serializers.CharField(help_text=_("The batch's code."))
    collected = serializers.DecimalField(max_digits=14, decimal_places=2)
    commission = serializers.DecimalField(max_digits=14, decimal_places=2)


class OverviewSerializer(serializers.Serializer[dict[str, Any]]):
    rows = OverviewRowSerializer(many=True)
    total_collected = serializers.DecimalField(max_digits=16, decimal_places=2)
    total_commission = serializers.DecimalField(max_digits=16, decimal_places=2)
