from decimal import Decimal

from django.utils import translation

from core.templatetags.money import euro


def test_euro_follows_italian_format() -> None:
    with translation.override("it"):
        assert euro(Decimal("1234567.5")) == "€ 1.234.567,50"
        assert euro(Decimal("0")) == "€ 0,00"
        assert euro(Decimal("-5.16")) == "€ -5,16"


def test_euro_follows_english_format() -> None:
    with translation.override("en"):
        assert euro(Decimal("1234.56")) == "€ 1,234.56"


def test_euro_leaves_missing_amounts_empty() -> None:
    assert euro(None) == ""
