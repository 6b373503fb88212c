"""Forms of the case page: recording a payment and cancelling one."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import Case, PaymentChannel
from cases.payments import PaymentRefused, check_new_payment
from imports.parsers import FieldError, parse_amount

# The money columns hold 14 digits, two of them decimals.
MAX_AMOUNT = Decimal(10) ** 12
# A comma followed by three digits or more and nothing else but a currency sign.
THREE_DECIMALS = re.compile(r",\d{3,}\s*(?:€|EUR)?\s*$", re.IGNORECASE)


class EuroAmountField(forms.CharField):
    """An amount in euro as an operator types it: "1.234,56", "150,5", "€ 150" or "150.50".

    Read as the creditors' files are read (`imports.parsers.parse_amount`), so a comma is the
    decimal mark; a number input would leave "150,50" to the browser, which may drop the comma.
    """

    widget = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
    default_error_messages = {
        "invalid": _("Enter an amount in euro with at most two decimals, e.g. 150,00."),
        "too_large": _("The amount is too large."),
    }

    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        if THREE_DECIMALS.search(text):
            # "1,500": one euro fifty read the Italian way, fifteen hundred read the English
            # way. Creditors' files write zeros so; an operator is asked to say which.
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            amount = parse_amount(text)
        except FieldError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        if abs(amount) >= MAX_AMOUNT:
            raise ValidationError(self.error_messages["too_large"], code="too_large")
        return amount


class PaymentForm(forms.Form):
    """What the debtor says it paid; the service allocates it to the installments."""

    paid_on = forms.DateField(
        label=_("Paid on"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter the date as day/month/year.")},
    )
    amount = EuroAmountField(label=_("Amount (€)"))
    channel = forms.ChoiceField(
        label=_("Channel"), choices=PaymentChannel.choices, initial=PaymentChannel.AGENCY
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.case = case
        self.fields["paid_on"].initial = timezone.localdate()
        self.fields["paid_on"].widget.attrs["max"] = timezone.localdate().isoformat()
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
