"""The agency's commission on payments, computed in bulk for one creditor.

The rule, applied to each payment of a case in order of payment date:

- the terms are the batch's own, else the creditor's; without either the rate is 0 and the
  result says so (`has_terms` is False);
- basis `flat`: the terms' rate;
- basis `case_age`: the rate of the tier with the highest threshold not above the days from
  the batch's assignment to the payment; below the first threshold, the terms' own rate;
- basis `recovered`: the same, by the euro already recovered on the case before this payment
  (payments commissioned earlier, then the earlier payments of the same computation); the whole
  payment takes that tier's rate, it is not split across tiers;
- the commission is amount * rate / 100, rounded half up to the cent, payment by payment;
- with a cap per case, a payment earns at most what is left of the cap after the commissions
  already earned on the case, so the case's commissions never exceed it.

`CommissionCalculator` loads the terms once per creditor (two queries), is primed with the
cases' totals (one query per set of cases) and computes any number of payments in memory.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum

from billing.models import CommissionBasis, CommissionTerms
from cases.models import ZERO, Payment
from core.bulk import in_chunks

CENTS = Decimal("0.01")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Terms:
    """One set of commission terms as plain values: basis, base rate, cap and tiers."""

    basis: str = CommissionBasis.FLAT
    rate: Decimal = ZERO
    cap: Decimal | None = None
    # (threshold, rate), ascending by threshold.
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()

    def rate_for(self, days: int, recovered: Decimal) -> Decimal:
        """The rate for a payment made `days` after assignment on a case that has already
        recovered `recovered`."""
        if self.basis == CommissionBasis.CASE_AGE:
            measure = Decimal(days)
        elif self.basis == CommissionBasis.RECOVERED:
            measure = recovered
        else:
            return self.rate
        rate = self.rate
        for threshold, tier_rate in self.tiers:
            if threshold > measure:
                break
            rate = tier_rate
        return rate


@dataclass(frozen=True)
class PaymentToCommission:
    """A payment to compute: `key` is the caller's own reference, given back in the result."""

    key: Any
    case_id: int
    batch_id: int
    assigned_on: datetime.date
    paid_on: datetime.date
    amount: Decimal


@dataclass(frozen=True)
class Commission:
    """The commission on one payment, with the rate applied and whether terms existed."""

    key: Any
    rate: Decimal
    amount: Decimal
    has_terms: bool
    capped: bool = False


@dataclass
class CaseTotals:
    recovered: Decimal = ZERO
    commissioned: Decimal = ZERO


@dataclass
class CommissionCalculator:
    """Commissions of one creditor's payments: load, prime with the cases, then compute."""

    creditor_terms: Terms | None
    batch_terms: dict[int, Terms]
    totals: dict[int, CaseTotals] = field(default_factory=dict)

    @classmethod
    def for_creditor(cls, creditor_id: int) -> CommissionCalculator:
        """The terms of the creditor and of all its batches, with their tiers."""
        creditor_terms: Terms | None = None
        batch_terms: dict[int, Terms] = {}
        queryset = CommissionTerms.objects.filter(creditor_id=creditor_id).prefetch_related("tiers")
        for terms in queryset:
            tiers = sorted((tier.threshold, tier.rate) for tier in terms.tiers.all())
            plain = Terms(terms.basis, terms.rate, terms.cap, tuple(tiers))
            if terms.batch_id is None:
                creditor_terms = plain
            else:
                batch_terms[terms.batch_id] = plain
        return cls(creditor_terms, batch_terms)

    def prime(
        self, case_ids: Iterable[int] | QuerySet[Any], excluding: QuerySet[Any] | None = None
    ) -> None:
        """Load what the cases have already recovered and earned: the payments commissioned
        before (those with a commission), in one query for a queryset of ids. Payments in
        `excluding` (those about to be computed again) do not count."""
        batches = [case_ids] if isinstance(case_ids, QuerySet) else in_chunks(case_ids)
        for batch in batches:
            earlier = Payment.objects.filter(Q(case_id__in=batch), commission__isnull=False)
            if excluding is not None:
                earlier = earlier.exclude(pk__in=excluding.values("pk"))
            rows = (
                earlier.order_by()
                .values("case_id")
                .annotate(recovered=Sum("amount"), commissioned=Sum("commission"))
                .values_list("case_id", "recovered", "commissioned")
            )
            for case_id, recovered, commissioned in rows:
                self.totals[case_id] = CaseTotals(recovered or ZERO, commissioned or ZERO)

    def terms_for(self, batch_id: int) -> Terms | None:
        return self.batch_terms.get(batch_id, self.creditor_terms)

    def compute(self, items: Sequence[PaymentToCommission]) -> list[Commission]:
        """The commission on each payment, in the order given; cases are walked in order of
        payment date (file order among payments of one day) and their totals kept."""
        results: dict[int, Commission] = {}
        order = sorted(range(len(items)), key=lambda i: (items[i].case_id, items[i].paid_on, i))
        for index in order:
            results[index] = self._commission(items[index])
        return [results[index] for index in range(len(items))]

    def _commission(self, item: PaymentToCommission) -> Commission:
        totals = self.totals.setdefault(item.case_id, CaseTotals())
        terms = self.terms_for(item.batch_id)
        if terms is None:
            totals.recovered += item.amount
            return Commission(item.key, ZERO, ZERO, has_terms=False)
        days = (item.paid_on - item.assigned_on).days
        rate = terms.rate_for(days, totals.recovered)
        amount = (item.amount * rate / HUNDRED).quantize(CENTS, rounding=ROUND_HALF_UP)
        capped = False
        if terms.cap is not None:
            left = max(terms.cap - totals.commissioned, ZERO)
            if amount > left:
                amount, capped = left, True
        totals.recovered += item.amount
        totals.commissioned += amount
        return Commission(item.key, rate, amount, has_terms=True, capped=capped)
