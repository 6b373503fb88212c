"""Payments on a case: allocation, states, history, cancellation, locks and the total requested.

GIVEN a case with installments, WHEN a payment is recorded, moved or cancelled, THEN the
installments, the history and the total requested follow the rules in docs/payments.md.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import translation

from accounts.models import AuditAction, AuditEvent, User
from billing.models import CommissionTerms, PreInvoice, PreInvoiceState
from cases.models import (
    Case,
    CaseState,
    Installment,
    InstallmentStatus,
    Note,
    NoteKind,
    Payment,
    PaymentAllocation,
    PaymentChannel,
    PaymentEvent,
    PaymentState,
)
from cases.payments import (
    PaymentLocked,
    PaymentRefused,
    advance_payment,
    cancel_payment,
    record_payment,
)
from cases.tests.factories import (
    CaseFactory,
    InstallmentFactory,
    PaymentAllocationFactory,
    PaymentFactory,
)
from creditors.models import Creditor
from imports.models import ImportJob, ImportKind, Layout

pytestmark = pytest.mark.django_db
D = Decimal
PAID_ON = datetime.date(2025, 6, 1)


@pytest.fixture(autouse=True)
def june_10th_in_english() -> Any:
    noon = datetime.datetime(2025, 6, 10, 12, 0, tzinfo=datetime.UTC)
    with time_machine.travel(noon, tick=False), translation.override("en"):
        yield


@pytest.fixture
def plan_case(compass: Creditor) -> Case:
    """Three installments, created out of order: 1 unpaid 100 + 5,16 fees, 2 unpaid 200,
    3 due 300. Total requested: 305,16."""
    case = CaseFactory(creditor=compass, contract_number="PLAN-1")
    for number, due, amount, fees, status in (
        (3, datetime.date(2025, 3, 15), "300.00", "0", InstallmentStatus.DUE),
        (1, datetime.date(2025, 1, 15), "100.00", "5.16", InstallmentStatus.UNPAID),
        (2, datetime.date(2025, 2, 15), "200.00", "0", InstallmentStatus.UNPAID),
    ):
        InstallmentFactory(
            case=case, number=number, due_date=due, amount=D(amount), fees=D(fees), status=status
        )
    return case


def installments(case: Case) -> dict[int, tuple[str, Decimal]]:
    return {
        i.number: (i.status, i.paid_amount)
        for i in Installment.objects.filter(case=case).order_by("number")
    }


def allocations(payment: Payment) -> list[tuple[int, Decimal, str]]:
    return [
        (a.installment.number, a.amount, a.previous_status)
        for a in payment.allocations.select_related("installment").order_by("installment__number")
    ]


def totals(case: Case) -> tuple[Decimal, Decimal]:
    """The total requested by both implementations: the page's and the list's."""
    case = Case.objects.get(pk=case.pk)
    return case.compute_total_requested(), Case.objects.with_total_requested().get(
        pk=case.pk
    ).total_requested


def pay(case: Case, amount: str, user: User | None = None) -> Payment:
    return record_payment(case, PAID_ON, D(amount), "agency", user)


# Allocation


def test_unpaid_installments_are_settled_before_older_ones_still_due(compass: Creditor) -> None:
    """What the creditor reported unpaid is what the agency collects and what the total
    requested counts: the debtor's money goes there first, even when an installment still due
    is older, and the total requested falls by the payment."""
    case = CaseFactory(creditor=compass, contract_number="ARREARS-1")
    for number, due, status, fees in (
        (1, datetime.date(2025, 1, 15), InstallmentStatus.DUE, "0"),
        (2, datetime.date(2025, 2, 15), InstallmentStatus.UNPAID, "12.00"),
        (3, datetime.date(2025, 3, 15), InstallmentStatus.UNPAID, "0"),
    ):
        InstallmentFactory(
            case=case, number=number, due_date=due, amount=D("150.00"), fees=D(fees), status=status
        )
    assert totals(case) == (D("312.00"), D("312.00"))

    payment = pay(case, "200.00")

    assert allocations(payment) == [
        (2, D("150.00"), InstallmentStatus.UNPAID),
        (3, D("50.00"), InstallmentStatus.UNPAID),
    ]
    assert installments(case)[1] == (InstallmentStatus.DUE, D("0.00"))
    assert totals(case) == (D("112.00"), D("112.00"))


def test_payment_covers_two_installments_exactly(plan_case: Case, operator: User) -> None:
    assert totals(plan_case) == (D("305.16"), D("305.16"))

    payment = pay(plan_case, "300.00", operator)

    assert allocations(payment) == [
        (1, D("100.00"), InstallmentStatus.UNPAID),
        (2, D("200.00"), InstallmentStatus.UNPAID),
    ]
    assert installments(plan_case) == {
        1: (InstallmentStatus.PAID, D("100.00")),
        2: (InstallmentStatus.PAID, D("200.00")),
        3: (InstallmentStatus.DUE, D("0.00")),
    }
    assert payment.unallocated_amount == D("0.00")
    assert (payment.state, payment.recorded_by) == (PaymentState.REPORTED, operator)
    # Nothing unpaid is left but the protest fees, which no allocation settles (docs/payments.md).
    assert totals(plan_case) == (D("5.16"), D("5.16"))


def test_partial_payment_raises_paid_amount_and_keeps_status(plan_case: Case) -> None:
    payment = pay(plan_case, "150.00")

    assert allocations(payment) == [
        (1, D("100.00"), InstallmentStatus.UNPAID),
        (2, D("50.00"), InstallmentStatus.UNPAID),
    ]
    assert installments(plan_case)[2] == (InstallmentStatus.UNPAID, D("50.00"))
    assert totals(plan_case) == (D("155.16"), D("155.16"))


def test_surplus_stays_unallocated_and_lowers_the_total(plan_case: Case) -> None:
    payment = pay(plan_case, "650.00")

    assert [number for number, *_ in allocations(payment)] == [1, 2, 3]
    assert Payment.objects.get(pk=payment.pk).unallocated_amount == D("50.00")
    assert set(installments(plan_case).values()) == {
        (InstallmentStatus.PAID, D("100.00")),
        (InstallmentStatus.PAID, D("200.00")),
        (InstallmentStatus.PAID, D("300.00")),
    }
    # The surplus covers the protest fees first; what is left is owed back to the debtor.
    assert totals(plan_case) == (D("-44.84"), D("-44.84"))


def test_paid_installments_are_skipped(plan_case: Case) -> None:
    Installment.objects.filter(case=plan_case, number=1).update(status=InstallmentStatus.PAID)

    payment = pay(plan_case, "20.00")

    assert allocations(payment) == [(2, D("20.00"), InstallmentStatus.UNPAID)]
    assert installments(plan_case)[1] == (InstallmentStatus.PAID, D("0.00"))


def test_partly_paid_installment_takes_only_what_it_lacks(plan_case: Case) -> None:
    pay(plan_case, "60.00")

    second = pay(plan_case, "60.00")

    assert allocations(second) == [
        (1, D("40.00"), InstallmentStatus.UNPAID),
        (2, D("20.00"), InstallmentStatus.UNPAID),
    ]
    assert installments(plan_case)[1] == (InstallmentStatus.PAID, D("100.00"))


def test_fees_are_not_allocated(plan_case: Case) -> None:
    payment = pay(plan_case, "105.16")

    assert allocations(payment)[0] == (1, D("100.00"), InstallmentStatus.UNPAID)
    assert allocations(payment)[1] == (2, D("5.16"), InstallmentStatus.UNPAID)
    # 194,84 still due on installment 2, plus the 5,16 fees of installment 1.
    assert totals(plan_case) == (D("200.00"), D("200.00"))


def test_recording_writes_history_and_audit(plan_case: Case, operator: User) -> None:
    payment = pay(plan_case, "150.00", operator)

    event = PaymentEvent.objects.get(payment=payment)
    assert (event.user, event.from_state, event.to_state) == (operator, "", PaymentState.REPORTED)
    assert event.detail == (
        "rata 1 scad. 15/01/2025: € 100,00 (saldata); rata 2 scad. 15/02/2025: € 50,00 (parziale)"
    )
    audit = AuditEvent.objects.get(object_type="cases.payment")
    assert (audit.user, audit.action, audit.object_id) == (
        operator,
        AuditAction.CREATE,
        str(payment.pk),
    )
    assert audit.after is not None
    assert audit.after["amount"] == "150.00"
    assert [a["amount"] for a in audit.after["allocations"]] == ["100.00", "50.00"]


@pytest.mark.parametrize(
    ("paid_on", "amount", "field", "message"),
    [
        (PAID_ON, "0", "amount", "The amount must be greater than zero."),
        (PAID_ON, "-5.00", "amount", "The amount must be greater than zero."),
        (PAID_ON, "1.005", "amount", "The amount cannot have more than two decimals."),
        (
            datetime.date(2025, 6, 11),
            "5.00",
            "paid_on",
            "The payment date cannot be in the future.",
        ),
    ],
)
def test_bad_payments_are_refused(
    plan_case: Case, paid_on: datetime.date, amount: str, field: str, message: str
) -> None:
    with pytest.raises(PaymentRefused) as refused:
        record_payment(plan_case, paid_on, D(amount), "agency", None)

    assert (refused.value.field, refused.value.message) == (field, message)
    assert not Payment.objects.exists()


def test_payment_on_a_closed_case_is_refused(plan_case: Case) -> None:
    plan_case.state = CaseState.CLOSED
    plan_case.save()

    with pytest.raises(
        PaymentRefused, match="Case PLAN-1 is closed: payments are recorded on open"
    ):
        pay(plan_case, "10.00")


# States and history


def test_reported_payment_is_collected(plan_case: Case, operator: User, team_leader: User) -> None:
    payment = pay(plan_case, "10.00", operator)

    advance_payment(payment, PaymentState.COLLECTED, team_leader, on=datetime.date(2025, 6, 3))

    payment.refresh_from_db()
    assert (payment.state, payment.collected_on) == (
        PaymentState.COLLECTED,
        datetime.date(2025, 6, 3),
    )
    history = list(payment.events.values_list("user__username", "from_state", "to_state", "detail"))
    assert history[1] == ("capogruppo", "reported", "collected", "incassato il 03/06/2025")
    assert history[0][:3] == ("operatore", "", "reported")
    audit = AuditEvent.objects.filter(action=AuditAction.UPDATE).get()
    assert (audit.before["state"], audit.after["state"]) == ("reported", "collected")


def test_collection_date_defaults_to_today(plan_case: Case) -> None:
    payment = advance_payment(pay(plan_case, "10.00"), PaymentState.COLLECTED, None)

    assert payment.collected_on == datetime.date(2025, 6, 10)


def test_forward_steps_up_to_invoiced(plan_case: Case) -> None:
    payment = pay(plan_case, "10.00")

    for state in (PaymentState.COLLECTED, PaymentState.COMMISSIONED, PaymentState.INVOICED):
        payment = advance_payment(payment, state, None)

    assert payment.state == PaymentState.INVOICED
    assert payment.commissioned_on == datetime.date(2025, 6, 10)
    assert payment.events.count() == 4


@pytest.mark.parametrize(
    ("start", "to_state", "message"),
    [
        (
            PaymentState.COLLECTED,
            PaymentState.REPORTED,
            "A payment that is collected cannot become reported.",
        ),
        (
            PaymentState.REPORTED,
            PaymentState.INVOICED,
            "A payment that is reported cannot become invoiced.",
        ),
        (
            PaymentState.COLLECTED,
            PaymentState.COLLECTED,
            "A payment that is collected cannot become collected.",
        ),
        (
            PaymentState.INVOICED,
            PaymentState.COMMISSIONED,
            "A payment that is invoiced cannot become commissioned.",
        ),
        (PaymentState.REPORTED, "paid", "A payment that is reported cannot become paid."),
    ],
)
def test_backward_or_skipping_steps_are_refused(
    plan_case: Case, start: str, to_state: str, message: str
) -> None:
    payment = PaymentFactory(case=plan_case, state=start)

    with pytest.raises(PaymentRefused) as refused:
        advance_payment(payment, to_state, None)

    assert refused.value.message == message
    payment.refresh_from_db()
    assert payment.state == start
    assert not payment.events.exists()


@pytest.mark.parametrize(
    ("on", "message"),
    [
        (datetime.date(2025, 6, 11), "The date cannot be in the future."),
        (datetime.date(2025, 5, 31), "The date cannot be before the payment date, 01/06/2025."),
    ],
)
def test_collection_date_must_be_plausible(
    plan_case: Case, on: datetime.date, message: str
) -> None:
    payment = pay(plan_case, "10.00")

    with pytest.raises(PaymentRefused, match=message):
        advance_payment(payment, PaymentState.COLLECTED, None, on=on)


# Cancellation


def test_cancel_restores_installments_exactly(plan_case: Case, back_office: User) -> None:
    Installment.objects.filter(case=plan_case, number=1).update(paid_amount=D("30.00"))
    before = installments(plan_case)
    totals_before = totals(plan_case)
    payment = pay(plan_case, "250.00")
    assert installments(plan_case) != before

    cancel_payment(payment, back_office, "Assegno scoperto")

    assert installments(plan_case) == before
    assert totals(plan_case) == totals_before
    assert not Payment.objects.filter(pk=payment.pk).exists()
    assert not PaymentAllocation.objects.exists()


def test_cancel_an_earlier_payment_keeps_the_later_one(plan_case: Case, back_office: User) -> None:
    before = installments(plan_case)
    first = pay(plan_case, "40.00")
    second = pay(plan_case, "100.00")  # completes installment 1, 40 on installment 2

    cancel_payment(first, back_office, "Doppio")

    assert installments(plan_case) == {
        1: (InstallmentStatus.UNPAID, D("60.00")),
        2: (InstallmentStatus.UNPAID, D("40.00")),
        3: (InstallmentStatus.DUE, D("0.00")),
    }
    cancel_payment(second, back_office, "Doppio")
    assert installments(plan_case) == before


def test_cancel_keeps_a_note_and_the_audit(plan_case: Case, back_office: User) -> None:
    payment = pay(plan_case, "150.00")
    payment_id = payment.pk

    cancel_payment(payment, back_office, "Bonifico mai arrivato")

    note = Note.objects.get(case=plan_case)
    assert note.kind == NoteKind.SYSTEM
    assert note.text == (
        "Pagamento del 01/06/2025 di € 150,00 annullato da backoffice: Bonifico mai arrivato"
    )
    audit = AuditEvent.objects.get(action=AuditAction.DELETE)
    assert (audit.object_type, audit.object_id, audit.user) == (
        "cases.payment",
        str(payment_id),
        back_office,
    )
    assert audit.before is not None
    assert audit.before["allocations"][1] == {
        "installment": Installment.objects.get(case=plan_case, number=2).pk,
        "amount": "50.00",
        "previous_status": "unpaid",
    }


def test_cancel_needs_a_reason(plan_case: Case) -> None:
    payment = pay(plan_case, "10.00")

    with pytest.raises(PaymentRefused, match=r"^Say why the payment is cancelled\.$"):
        cancel_payment(payment, None, "  ")

    assert Payment.objects.filter(pk=payment.pk).exists()


@pytest.mark.parametrize("state", [PaymentState.COMMISSIONED, PaymentState.INVOICED])
def test_recognised_payment_cannot_be_cancelled(plan_case: Case, state: str) -> None:
    payment = PaymentFactory(case=plan_case, state=state)

    with pytest.raises(
        PaymentRefused,
        match=f"A payment that is {state} cannot be cancelled: the creditor recognised it.",
    ):
        cancel_payment(payment, None, "Errore")


# Locks


@pytest.fixture
def confirmed_pre_invoice(compass: Creditor) -> PreInvoice:
    return PreInvoice.objects.create(
        creditor=compass,
        number="PF-2025-06",
        period_start=datetime.date(2025, 5, 1),
        period_end=datetime.date(2025, 5, 31),
        state=PreInvoiceState.CONFIRMED,
    )


LOCKED = (
    "This payment is on a confirmed pre-invoice or was commissioned by the creditor's file: "
    "it cannot be changed."
)


def test_payment_on_a_confirmed_pre_invoice_is_locked(
    plan_case: Case, confirmed_pre_invoice: PreInvoice
) -> None:
    payment = pay(plan_case, "150.00")
    Payment.objects.filter(pk=payment.pk).update(pre_invoice=confirmed_pre_invoice)
    before = installments(plan_case)

    with pytest.raises(PaymentLocked) as refused:
        advance_payment(payment, PaymentState.COLLECTED, None)
    assert refused.value.message == LOCKED
    with pytest.raises(PaymentLocked):
        cancel_payment(payment, None, "Errore")

    assert installments(plan_case) == before
    assert Payment.objects.get(pk=payment.pk).state == PaymentState.REPORTED
    assert PaymentEvent.objects.filter(payment=payment).count() == 1


def test_draft_pre_invoice_does_not_lock(
    plan_case: Case, confirmed_pre_invoice: PreInvoice
) -> None:
    PreInvoice.objects.filter(pk=confirmed_pre_invoice.pk).update(state=PreInvoiceState.DRAFT)
    payment = PaymentFactory(case=plan_case, pre_invoice=confirmed_pre_invoice)

    assert advance_payment(payment, PaymentState.COLLECTED, None).state == PaymentState.COLLECTED


def test_payment_commissioned_by_a_pre_invoice_file_is_locked(
    plan_case: Case, compass: Creditor
) -> None:
    job = ImportJob.objects.create(
        creditor=compass,
        layout=Layout.objects.first(),
        kind=ImportKind.UNPAID,
        file="imports/2025/06/prefattura.csv",
        original_name="prefattura.csv",
        sha256="1" * 64,
    )
    payment = PaymentFactory(case=plan_case, state=PaymentState.COMMISSIONED, commissioned_job=job)

    with pytest.raises(PaymentLocked, match="cannot be changed"):
        advance_payment(payment, PaymentState.INVOICED, None)


# Total requested


def test_case_without_installments_owes_its_assigned_total(axactor: Creditor) -> None:
    case = CaseFactory(
        creditor=axactor, assigned_total=D("1000.00"), other_charges=D("20.00"), principal=D("1")
    )
    assert totals(case) == (D("1020.00"), D("1020.00"))

    pay(case, "300.00")

    assert totals(case) == (D("720.00"), D("720.00"))


def test_both_totals_agree_on_every_kind_of_case(plan_case: Case, axactor: Creditor) -> None:
    pay(plan_case, "120.00")
    empty = CaseFactory(creditor=axactor, assigned_total=D("500.00"))
    PaymentFactory(case=empty, amount=D("80.00"), channel=PaymentChannel.CREDITOR)
    all_paid = CaseFactory(creditor=axactor, other_charges=D("12.50"))
    PaymentAllocationFactory(
        installment__case=all_paid,
        installment__status=InstallmentStatus.PAID,
        installment__paid_amount=D("100.00"),
        payment__amount=D("130.00"),
    )
    untouched = CaseFactory(creditor=axactor)
    InstallmentFactory(case=untouched, status=InstallmentStatus.DUE)

    listed = dict(
        Case.objects.with_total_requested().values_list("contract_number", "total_requested")
    )
    computed = {case.contract_number: case.compute_total_requested() for case in Case.objects.all()}

    assert listed == computed
    assert computed[plan_case.contract_number] == D("185.16")
    assert computed[empty.contract_number] == D("420.00")
    assert computed[all_paid.contract_number] == D("-17.50")
    assert computed[untouched.contract_number] == D("0.00")


def test_commissioning_by_hand_computes_the_commission_of_the_terms(plan_case: Case) -> None:
    """A payment the creditor recognised without a file earns the commission its terms give,
    within the cap per case, like one commissioned by the pre-invoice file."""
    CommissionTerms.objects.create(creditor=plan_case.creditor, rate=D("10.00"), cap=D("5.00"))
    PaymentFactory(
        case=plan_case,
        amount=D("45.00"),
        state=PaymentState.COMMISSIONED,
        commission_rate=D("10.00"),
        commission=D("4.50"),
    )
    first = advance_payment(pay(plan_case, "2.05"), PaymentState.COMMISSIONED, None)
    second = advance_payment(pay(plan_case, "10.00"), PaymentState.COLLECTED, None)
    second = advance_payment(second, PaymentState.COMMISSIONED, None)

    # 2.05 at 10% is 0.205, half-up 0.21; the next 1.00 is cut to the 0.29 left of the cap.
    assert (first.commission_rate, first.commission) == (D("10.00"), D("0.21"))
    assert (second.commission_rate, second.commission) == (D("10.00"), D("0.29"))
    stored = Payment.objects.get(pk=second.pk)
    assert (stored.commission_rate, stored.commission) == (D("10.00"), D("0.29"))
