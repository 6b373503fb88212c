"""Forms of the case page: recording a payment and cancelling one."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, PaymentChannel
from cases.payments import PaymentRefused, check_new_payment


class PaymentForm(forms.Form):
    """What the debtor says it paid; the service allocates it to the installments."""

    paid_on = forms.DateField(
        label=_("Paid on"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter the date as day/month/year.")},
    )
    amount = forms.DecimalField(
        label=_("Amount (€)"),
        max_digits=14,
        decimal_places=2,
        error_messages={
            "invalid": _("Enter an amount in euro, e.g. 150.00."),
            "max_decimal_places": _("The amount cannot have more than two decimals."),
        },
    )
    channel = forms.ChoiceField(
        label=_("Channel"), choices=PaymentChannel.choices, initial=PaymentChannel.AGENCY
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["paid_on"].initial = timezone.localdate()
        self.fields["paid_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        self.fields["amount"].widget.attrs.update({"min": "0.01", "step": "0.01"})
        for name, field in self.fields.items():
            css = "form-select" if name == "channel" else "form-control"
            field.widget.attrs["class"] = css

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["class"] += " is-invalid"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "paid_on" in cleaned and "amount" in cleaned:
            try:
                check_new_payment(self.case, cleaned["paid_on"], cleaned["amount"])
            except PaymentRefused as error:
                self.add_error(error.field, error.message)
        return cleaned


class PaymentCancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        error_messages={"required": _("Say why the payment is cancelled.")},
    )
