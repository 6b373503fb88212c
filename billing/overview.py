"""The commission overview: what was collected and what was commissioned, per month, creditor and
batch, aggregated in one grouped query however many payments there are.

A payment counts as collected from the state "collected" on, and its commission from the state
"commissioned" on; both by the month the debtor paid (`paid_on`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncMonth

from cases.models import COLLECTED_STATES, ZERO, MoneyField, Payment, PaymentState

if TYPE_CHECKING:
    from accounts.models import User

CENT = Decimal("0.01")
COMMISSIONED_STATES = (PaymentState.COMMISSIONED, PaymentState.INVOICED)


@dataclass(frozen=True)
class MonthFigures:
    month: datetime.date
    creditor: str
    batch: str
    collected: Decimal
    commission: Decimal


def visible_payments(user: User) -> QuerySet[Payment]:
    """Payments on the cases of the creditors the user may see."""
    scope = user.creditor_scope()
    payments = Payment.objects.all()
    return payments if scope is None else payments.filter(case__creditor_id__in=scope)


def monthly_figures(payments: QuerySet[Payment]) -> list[MonthFigures]:
    """Collected and commissioned sums per month, creditor and batch, newest month first."""
    money = MoneyField()
    rows = (
        payments.filter(state__in=COLLECTED_STATES)
        .annotate(month=TruncMonth("paid_on"))
        .order_by()
        .values("month", "case__creditor__code", "case__batch__code")
        .annotate(
            collected=Coalesce(Sum("amount"), Value(ZERO), output_field=money),
            commission=Coalesce(
                Sum("commission", filter=Q(state__in=COMMISSIONED_STATES)),
                Value(ZERO),
                output_field=money,
            ),
        )
        .order_by("-month", "case__creditor__code", "case__batch__code")
    )
    return [
        MonthFigures(
            month=_as_date(row["month"]),
            creditor=row["case__creditor__code"],
            batch=row["case__batch__code"],
            # SQLite sums decimals with spurious places: back to cents.
            collected=row["collected"].quantize(CENT),
            commission=row["commission"].quantize(CENT),
        )
        for row in rows
    ]


def _as_date(value: Any) -> datetime.date:
    # TruncMonth of a date field gives a date; some backends hand back a datetime.
    return value.date() if isinstance(value, datetime.datetime) else value


def chart_series(figures: list[MonthFigures]) -> dict[str, Any]:
    """Months in order with their totals over every creditor and batch shown, for the chart;
    amounts as strings, so no float ever carries money."""
    collected: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    commission: dict[datetime.date, Decimal] = defaultdict(lambda: ZERO)
    for row in figures:
        collected[row.month] += row.collected
        commission[row.month] += row.commission
    months = sorted(collected)
    return {
        "months": [f"{month:%m/%Y}" for month in months],
        "collected": [str(collected[month]) for month in months],
        "commission": [str(commission[month]) for month in months],
    }


def overview_totals(figures: list[MonthFigures]) -> tuple[Decimal, Decimal]:
    return sum((r.collected for r in figures), ZERO), sum((r.commission for r in figures), ZERO)
