"""Forms of the billing pages: commission terms with their tiers, a new pre-invoice, and the
details the FatturaPA export needs that no record holds."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import CommissionBasis, CommissionTerms, CommissionTier
from core.forms import style_widgets
from creditors.models import Creditor

ZERO = Decimal(0)
RATE_VALIDATORS = [MinValueValidator(ZERO), MaxValueValidator(Decimal(100))]
DUPLICATE_THRESHOLD = _("Each threshold may appear only once.")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CommissionTermsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CommissionTerms
        fields = ["basis", "rate", "cap"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rate"].validators.extend(RATE_VALIDATORS)
        self.fields["rate"].help_text = _(
            "Between 0 and 100. With tiers, the rate below the first threshold."
        )
        self.fields["cap"].validators.append(MinValueValidator(ZERO))
        style_widgets(self)


class CommissionTierForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CommissionTier
        fields = ["threshold", "rate"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["threshold"].validators.append(MinValueValidator(ZERO))
        self.fields["rate"].validators.extend(RATE_VALIDATORS)
        style_widgets(self)


class BaseTierFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    """Tiers are required by the tiered bases and meaningless for one rate; a threshold may
    appear once. `basis` is the basis chosen on the terms form, set before validation."""

    basis: str | None = None

    def kept_forms(self) -> list[forms.BaseForm]:
        """The filled-in tiers not marked for removal."""
        return [
            form
            for form in self.forms
            if form.has_changed() and form.is_valid() and not form.cleaned_data.get("DELETE")
        ]

    def get_unique_error_message(self, unique_check: Any) -> str:
        # Django finds repeated thresholds first (the unique constraint); say it our way.
        return str(DUPLICATE_THRESHOLD)

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        thresholds = [form.cleaned_data["threshold"] for form in self.kept_forms()]
        if len(set(thresholds)) != len(thresholds):
            raise ValidationError(DUPLICATE_THRESHOLD, code="duplicate")
        if self.basis == CommissionBasis.FLAT and thresholds:
            raise ValidationError(
                _("One rate has no tiers: remove them, or choose a tiered basis."), code="flat"
            )
        if self.basis in (CommissionBasis.CASE_AGE, CommissionBasis.RECOVERED) and not thresholds:
            raise ValidationError(
                _("This basis needs at least one tier (from, rate)."), code="tiers_required"
            )


CommissionTierFormSet = inlineformset_factory(
    CommissionTerms,
    CommissionTier,
    form=CommissionTierForm,
    formset=BaseTierFormSet,
    extra=3,
    can_delete=True,
)


class PreInvoiceCreateForm(forms.Form):
    creditor = forms.ModelChoiceField(queryset=Creditor.objects.none(), label=_("Creditor"))
    period_start = forms.DateField(label=_("From"), widget=DATE_WIDGET)
    period_end = forms.DateField(label=_("To"), widget=DATE_WIDGET)

    def __init__(self, *args: Any, creditors: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        creditor_field = self.fields["creditor"]
        assert isinstance(creditor_field, forms.ModelChoiceField)  # noqa: S101 -- narrows the type
        creditor_field.queryset = creditors
        style_widgets(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if start and end and end < start:
            self.add_error("period_end", _("The period ends before it starts."))
        return data


SDI_CODE = re.compile(r"^[A-Z0-9]{7}$")
POSTCODE = re.compile(r"^\d{5}$")


class InvoiceExportForm(forms.Form):
    """The invoice's number and date, and the customer's data a creditor record lacks."""

    number = forms.CharField(label=_("Invoice number"), max_length=20)
    date = forms.DateField(label=_("Invoice date"), widget=DATE_WIDGET)
    street = forms.CharField(label=_("Customer's address"), max_length=60)
    postcode = forms.CharField(label=_("Postcode"), max_length=5)
    city = forms.CharField(label=_("City"), max_length=60)
    province = forms.CharField(label=_("Province"), max_length=2, required=False)
    country = forms.CharField(label=_("Country"), max_length=2, initial="IT")
    recipient_code = forms.CharField(
        label=_("Recipient code (SDI)"),
        max_length=7,
        initial="0000000",
        help_text=_("The customer's 7-character code; 0000000 when it receives by PEC."),
    )
    pec = forms.EmailField(label=_("Recipient PEC"), required=False, max_length=256)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()
        style_widgets(self)

    def clean_recipient_code(self) -> str:
        code: str = self.cleaned_data["recipient_code"].strip().upper()
        if not SDI_CODE.match(code):
            raise ValidationError(_("The recipient code has 7 letters or digits."))
        return code

    def clean_postcode(self) -> str:
        postcode: str = self.cleaned_data["postcode"].strip()
        if not POSTCODE.match(postcode):
            raise ValidationError(_("A postcode (CAP) has 5 digits."))
        return postcode

    def clean_province(self) -> str:
        return str(self.cleaned_data["province"]).strip().upper()

    def clean_country(self) -> str:
        country = str(self.cleaned_data["country"]).strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise ValidationError(_("A country is given by its two-letter code, e.g. IT."))
        return country

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code, pec = data.get("recipient_code"), data.get("pec")
        if code == "0000000" and not pec:
            self.add_error("pec", _("With recipient code 0000000, give the customer's PEC."))
        if code and code != "0000000" and pec:
            self.add_error("pec", _("Give either a recipient code or a PEC, not both."))
        return data
