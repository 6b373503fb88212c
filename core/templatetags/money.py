"""Money as the agency reads it: "€ 1.234,56" in Italian, "€ 1,234.56" in English."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def euro(value: Decimal | int | str | None) -> str:
    """Euro amount with two decimals and thousands grouping in the active language.

    Grouping is forced because USE_THOUSAND_SEPARATOR is off, and large amounts without it are
    hard to read on a case page. An empty value renders as an empty string, not "€ 0,00", so a
    missing amount is not mistaken for a zero balance.
    """
    if value is None or value == "":
        return ""
    return f"€ {number_format(Decimal(value), 2, force_grouping=True)}"
