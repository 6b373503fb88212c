"""The commission on payments: which terms apply, which tier, rounding and the cap per case."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.commission import CommissionCalculator, PaymentToCommission
from billing.models import CommissionBasis, CommissionTerms, CommissionTier
from cases.models import PaymentState
from cases.tests.factories import BatchFactory, CaseFactory, CreditorFactory, PaymentFactory
from creditors.models import Batch, Creditor

pytestmark = pytest.mark.django_db

ASSIGNED = date(2025, 3, 1)


@pytest.fixture
def creditor() -> Creditor:
    return CreditorFactory(code="PROVV")


@pytest.fixture
def batch(creditor: Creditor) -> Batch:
    return BatchFactory(creditor=creditor, assigned_on=ASSIGNED)


def terms(
    creditor: Creditor,
    rate: str,
    *,
    batch: Batch | None = None,
    basis: str = CommissionBasis.FLAT,
    cap: str | None = None,
    tiers: tuple[tuple[str, str], ...] = (),
) -> CommissionTerms:
    made = CommissionTerms.objects.create(
        creditor=creditor,
        batch=batch,
        basis=basis,
        rate=Decimal(rate),
        cap=Decimal(cap) if cap else None,
    )
    for threshold, tier_rate in tiers:
        CommissionTier.objects.create(
            terms=made, threshold=Decimal(threshold), rate=Decimal(tier_rate)
        )
    return made


def payment(
    key: int, amount: str, *, days: int = 10, case_id: int = 1, batch: Batch
) -> PaymentToCommission:
    return PaymentToCommission(
        key=key,
        case_id=case_id,
        batch_id=batch.pk,
        assigned_on=batch.assigned_on,
        paid_on=batch.assigned_on + timedelta(days=days),
        amount=Decimal(amount),
    )


def compute(creditor: Creditor, *items: PaymentToCommission) -> list[tuple[str, str]]:
    calculator = CommissionCalculator.for_creditor(creditor.pk)
    return [(str(c.rate), str(c.amount)) for c in calculator.compute(items)]


def test_flat_rate_of_the_creditor(creditor: Creditor, batch: Batch) -> None:
    terms(creditor, "12.50")

    assert compute(creditor, payment(1, "200.00", batch=batch)) == [("12.50", "25.00")]


def test_batch_terms_override_the_creditor(creditor: Creditor, batch: Batch) -> None:
    terms(creditor, "12.50")
    terms(creditor, "8.00", batch=batch)
    other = BatchFactory(creditor=creditor)

    assert compute(
        creditor, payment(1, "100.00", batch=batch), payment(2, "100.00", batch=other, case_id=2)
    ) == [("8.00", "8.00"), ("12.50", "12.50")]


def test_no_terms_means_zero_and_says_so(creditor: Creditor, batch: Batch) -> None:
    calculator = CommissionCalculator.for_creditor(creditor.pk)

    [result] = calculator.compute([payment(1, "100.00", batch=batch)])

    assert (result.rate, result.amount, result.has_terms) == (Decimal(0), Decimal(0), False)


def test_half_a_cent_is_rounded_up(creditor: Creditor, batch: Batch) -> None:
    # 0.10 * 5% = 0.005 → 0.01; 0.30 * 15% = 0.045 → 0.05 (a float would give 0.04).
    terms(creditor, "5.00")
    terms(creditor, "15.00", batch=BatchFactory(creditor=creditor, code="B15"))
    b15 = Batch.objects.get(code="B15")

    assert compute(
        creditor, payment(1, "0.10", batch=batch), payment(2, "0.30", batch=b15, case_id=2)
    ) == [("5.00", "0.01"), ("15.00", "0.05")]


@pytest.mark.parametrize(
    ("days", "rate"),
    [(0, "10.00"), (89, "10.00"), (90, "15.00"), (179, "15.00"), (180, "20.00"), (900, "20.00")],
)
def test_case_age_tiers_from_their_threshold_on(
    creditor: Creditor, batch: Batch, days: int, rate: str
) -> None:
    terms(creditor, "10.00", basis=CommissionBasis.CASE_AGE, tiers=(("90", "15"), ("180", "20")))

    assert compute(creditor, payment(1, "100.00", days=days, batch=batch)) == [(rate, rate)]


def test_recovered_tiers_by_what_the_case_recovered_before(
    creditor: Creditor, batch: Batch
) -> None:
    terms(creditor, "10.00", basis=CommissionBasis.RECOVERED, tiers=(("500", "15"), ("1000", "20")))
    # Given in reverse date order: the case is walked by payment date.
    items = (
        payment(4, "100.00", days=40, batch=batch),
        payment(3, "500.00", days=30, batch=batch),
        payment(2, "100.00", days=20, batch=batch),
        payment(1, "400.00", days=10, batch=batch),
    )

    # Recovered before each: 0, 400 (< 500), 500 (tier 15%), 1000 (tier 20%).
    assert compute(creditor, *items) == [
        ("20.00", "20.00"),
        ("15.00", "75.00"),
        ("10.00", "10.00"),
        ("10.00", "40.00"),
    ]


def test_recovered_counts_payments_commissioned_before(creditor: Creditor, batch: Batch) -> None:
    terms(creditor, "10.00", basis=CommissionBasis.RECOVERED, tiers=(("500", "15"),))
    case = CaseFactory(creditor=creditor, batch=batch)
    PaymentFactory(
        case=case, amount=Decimal("500.00"), state=PaymentState.COMMISSIONED, commission=50
    )
    PaymentFactory(case=case, amount=Decimal("900.00"), state=PaymentState.REPORTED)
    calculator = CommissionCalculator.for_creditor(creditor.pk)

    calculator.prime([case.pk])
    [result] = calculator.compute([payment(1, "100.00", case_id=case.pk, batch=batch)])

    assert (result.rate, result.amount) == (Decimal("15.00"), Decimal("15.00"))


def test_cap_reached_in_the_middle_of_a_payment(creditor: Creditor, batch: Batch) -> None:
    terms(creditor, "10.00", cap="25.00")
    items = (
        payment(1, "200.00", days=1, batch=batch),
        payment(2, "100.00", days=2, batch=batch),
        payment(3, "100.00", days=3, batch=batch),
        payment(4, "100.00", days=1, case_id=2, batch=batch),
    )
    calculator = CommissionCalculator.for_creditor(creditor.pk)

    results = calculator.compute(items)

    # 20 + 5 (of 10) reaches the cap; the next earns nothing; another case has its own cap.
    assert [(r.amount, r.capped) for r in results] == [
        (Decimal("20.00"), False),
        (Decimal("5.00"), True),
        (Decimal("0.00"), True),
        (Decimal("10.00"), False),
    ]


def test_cap_counts_commissions_earned_before(creditor: Creditor, batch: Batch) -> None:
    terms(creditor, "10.00", cap="25.00")
    case = CaseFactory(creditor=creditor, batch=batch)
    PaymentFactory(
        case=case, amount=Decimal("220.00"), state=PaymentState.COMMISSIONED, commission=22
    )
    calculator = CommissionCalculator.for_creditor(creditor.pk)

    calculator.prime([case.pk])
    [result] = calculator.compute([payment(1, "100.00", case_id=case.pk, batch=batch)])

    assert result.amount == Decimal("3.00")


def test_loading_and_priming_take_a_constant_number_of_queries(creditor: Creditor) -> None:
    batches = [BatchFactory(creditor=creditor) for _ in range(5)]
    terms(creditor, "10.00", basis=CommissionBasis.CASE_AGE, tiers=(("30", "12"),))
    for number, batch in enumerate(batches):
        terms(creditor, f"{number + 5}.00", batch=batch, basis=CommissionBasis.RECOVERED)
    cases = [CaseFactory(creditor=creditor, batch=batch) for batch in batches]

    with CaptureQueriesContext(connection) as queries:
        calculator = CommissionCalculator.for_creditor(creditor.pk)
        calculator.prime([case.pk for case in cases])
        calculator.compute(
            [payment(n, "10.00", case_id=c.pk, batch=c.batch) for n, c in enumerate(cases)]
        )

    assert len(queries) == 3
    assert len(calculator.batch_terms) == 5
