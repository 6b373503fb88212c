"""The recovery rate: exact, rounded half up to one decimal, and absent when nothing was
assigned."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from creditors.reports import format_rate, recovery_rate


@pytest.mark.parametrize(
    ("collected", "assigned", "rate"),
    [
        ("180.50", "2000.16", "9.0"),
        ("1.00", "8.00", "12.5"),
        ("1.00", "3.00", "33.3"),
        ("2.00", "3.00", "66.7"),
        ("0.05", "40.00", "0.1"),  # 0.125 rounds half up
        ("0.00", "100.00", "0.0"),
        ("150.00", "100.00", "150.0"),
    ],
)
def test_recovery_rate(collected: str, assigned: str, rate: str) -> None:
    assert recovery_rate(Decimal(collected), Decimal(assigned)) == Decimal(rate)


def test_no_rate_when_nothing_was_assigned() -> None:
    assert recovery_rate(Decimal("10.00"), Decimal("0.00")) is None


def test_rate_is_formatted_in_the_active_language() -> None:
    with translation.override("it"):
        assert format_rate(Decimal("12.5")) == "12,5%"
        assert format_rate(None) == "—"
    with translation.override("en"):
        assert format_rate(Decimal("1234.5")) == "1234.5%"
