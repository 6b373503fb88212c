"""Pre-invoice files: each row finds its case by batch and contract, then a registered payment
or open installments of exactly its amount; what is found is collected and commissioned once,
in a draft pre-invoice, and nothing else is ever forced or changed twice."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import Workbook

from billing.models import CommissionTerms, PreInvoice, PreInvoiceState
from cases.models import (
    Case,
    Installment,
    InstallmentStatus,
    Payment,
    PaymentAllocation,
    PaymentEvent,
    PaymentState,
)
from cases.payments import record_payment
from cases.tests.factories import BatchFactory, CaseFactory, InstallmentFactory, PaymentFactory
from creditors.models import Batch, Creditor
from imports.models import ImportJob, ImportRow, JobStatus, RowOutcome
from imports.tests.helpers import csv_bytes, run_file

pytestmark = pytest.mark.django_db

HEADER = "Lotto;Contratto;Nominativo;DataPagamento;Importo"
LAYOUT = "prefattura"


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def batch(compass: Creditor) -> Batch:
    return BatchFactory(creditor=compass, code="CMP-9", assigned_on=date(2025, 1, 10))


def make_case(batch: Batch, contract: str, *amounts: str) -> Case:
    """A case with monthly installments of the given amounts, due from 15/02/2025."""
    case = CaseFactory(creditor=batch.creditor, batch=batch, contract_number=contract)
    for number, amount in enumerate(amounts, start=1):
        InstallmentFactory(
            case=case, number=number, due_date=date(2025, number + 1, 15), amount=Decimal(amount)
        )
    return case


def prefattura(*lines: str) -> bytes:
    return csv_bytes(HEADER, *lines)


def run(creditor: Creditor, data: bytes, name: str = "prefattura.csv", **kw: Any) -> ImportJob:
    job = run_file(creditor, LAYOUT, data, name, **kw)
    assert job.status == JobStatus.DONE, job.error
    return job


def outcomes(job: ImportJob) -> list[tuple[int, str]]:
    return list(job.rows.order_by("number").values_list("number", "outcome"))


def installment_states(case: Case) -> list[tuple[int, str, Decimal]]:
    return list(case.installments.order_by("number").values_list("number", "status", "paid_amount"))


def test_registered_payment_is_collected_and_commissioned(compass: Creditor, batch: Batch) -> None:
    CommissionTerms.objects.create(creditor=compass, rate=Decimal("12.00"))
    case = make_case(batch, "0010000001", "100.00", "100.00")
    payment = PaymentFactory(case=case, paid_on=date(2025, 3, 2), amount=Decimal("150.00"))

    job = run(compass, prefattura("CMP-9;0010000001;ROSSI MARIO;02/03/2025;150,00"))

    payment.refresh_from_db()
    assert (payment.state, payment.collected_on, payment.commission_rate, payment.commission) == (
        PaymentState.COMMISSIONED,
        date(2025, 3, 2),
        Decimal("12.00"),
        Decimal("18.00"),
    )
    assert payment.commissioned_job == job
    row = job.rows.get()
    assert (row.outcome, row.payment, row.previous_status) == (
        RowOutcome.MATCHED,
        payment,
        PaymentState.REPORTED,
    )
    # A registered payment keeps its own allocations: no installment is touched.
    assert installment_states(case) == [
        (1, InstallmentStatus.DUE, Decimal("0.00")),
        (2, InstallmentStatus.DUE, Decimal("0.00")),
    ]
    assert list(PaymentEvent.objects.values_list("payment", "from_state", "to_state", "job")) == [
        (payment.pk, PaymentState.REPORTED, PaymentState.COMMISSIONED, job.pk)
    ]


def test_payment_of_one_installment_is_created_and_allocated(
    compass: Creditor, batch: Batch
) -> None:
    case = make_case(batch, "0010000001", "120.50", "120.50", "120.50")

    job = run(compass, prefattura("CMP-9;0010000001;;20/02/2025;120,50"))

    payment = Payment.objects.get()
    assert (payment.case, payment.amount, payment.state, payment.created_job) == (
        case,
        Decimal("120.50"),
        PaymentState.COMMISSIONED,
        job,
    )
    assert installment_states(case) == [
        (1, InstallmentStatus.PAID, Decimal("120.50")),
        (2, InstallmentStatus.DUE, Decimal("0.00")),
        (3, InstallmentStatus.DUE, Decimal("0.00")),
    ]
    assert list(PaymentAllocation.objects.values_list("installment__number", "amount")) == [
        (1, Decimal("120.50"))
    ]
    with translation.override("en"):
        row = job.rows.get()
    assert row.installment is not None and row.installment.number == 1


def test_payment_covering_two_installments_exactly_pays_both(
    compass: Creditor, batch: Batch
) -> None:
    case = make_case(batch, "0010000001", "100.00", "80.00", "100.00")

    run(compass, prefattura("CMP-9;0010000001;;10/03/2025;180,00"))

    assert installment_states(case) == [
        (1, InstallmentStatus.PAID, Decimal("100.00")),
        (2, InstallmentStatus.PAID, Decimal("80.00")),
        (3, InstallmentStatus.DUE, Decimal("0.00")),
    ]
    assert PaymentAllocation.objects.count() == 2


def test_later_installment_of_that_amount_nearest_the_payment_date(
    compass: Creditor, batch: Batch
) -> None:
    # The first installment is 100, the next three 250: paid mid-April, the April one.
    case = make_case(batch, "0010000001", "100.00", "250.00", "250.00", "250.00")

    job = run(compass, prefattura("CMP-9;0010000001;;16/04/2025;250,00"))

    assert job.rows.get().outcome == RowOutcome.MATCHED
    assert installment_states(case)[:3] == [
        (1, InstallmentStatus.DUE, Decimal("0.00")),
        (2, InstallmentStatus.DUE, Decimal("0.00")),
        (3, InstallmentStatus.PAID, Decimal("250.00")),
    ]


def test_amount_that_fits_nothing_is_reported_not_forced(compass: Creditor, batch: Batch) -> None:
    case = make_case(batch, "0010000001", "100.00", "100.00")

    with translation.override("en"):
        job = run(compass, prefattura("CMP-9;0010000001;;20/02/2025;150,00"))

    row = job.rows.get()
    assert row.outcome == RowOutcome.AMOUNT_NOT_MATCHED
    assert row.message == (
        "No payment or open installments add up to € 150.00; closest: installment 1 due "
        "15/02/2025, € 100.00 outstanding."
    )
    assert row.closest == Installment.objects.get(case=case, number=1)
    assert not Payment.objects.exists()
    assert not PreInvoice.objects.exists()
    assert job.counts["not_found"] == {"contract_not_found": 0, "amount_not_matched": 1}


def test_contract_not_found_by_batch_or_contract(compass: Creditor, batch: Batch) -> None:
    make_case(batch, "0010000001", "100.00")
    BatchFactory(creditor=compass, code="CMP-10")

    with translation.override("en"):
        job = run(
            compass,
            prefattura(
                "CMP-10;0010000001;;20/02/2025;100,00",
                "CMP-9;0010000999;;20/02/2025;100,00",
            ),
        )

    assert list(job.rows.order_by("number").values_list("outcome", "message")) == [
        (
            RowOutcome.CONTRACT_NOT_FOUND,
            "Contract 0010000001 is not in batch CMP-10: the creditor's case is in batch CMP-9.",
        ),
        (RowOutcome.CONTRACT_NOT_FOUND, "The creditor has no case with contract 0010000999."),
    ]
    assert not Payment.objects.exists()


def test_other_creditors_case_is_never_matched(
    compass: Creditor, axactor: Creditor, batch: Batch
) -> None:
    other = BatchFactory(creditor=axactor, code="CMP-9")
    make_case(other, "0010000001", "100.00")

    job = run(compass, prefattura("CMP-9;0010000001;;20/02/2025;100,00"))

    assert outcomes(job) == [(2, RowOutcome.CONTRACT_NOT_FOUND)]


def test_reassigned_contract_matches_the_latest_case(compass: Creditor, batch: Batch) -> None:
    make_case(batch, "0010000001", "100.00")
    latest = make_case(batch, "0010000001", "100.00")

    run(compass, prefattura("CMP-9;0010000001;;20/02/2025;100,00"))

    assert Payment.objects.get().case == latest


def test_same_rows_in_another_file_are_already_commissioned(
    compass: Creditor, batch: Batch
) -> None:
    case = make_case(batch, "0010000001", "100.00", "100.00")
    first = run(compass, prefattura("CMP-9;0010000001;;20/02/2025;100,00"))

    # Other bytes: a title row, the contract as a number, the date as ISO text.
    again = run(
        compass,
        csv_bytes("Prefattura marzo", HEADER, "CMP-9;10000001;;2025-02-20;100,00"),
        "prefattura-bis.csv",
    )

    assert outcomes(again) == [(3, RowOutcome.ALREADY_COMMISSIONED)]
    assert again.rows.get().payment == Payment.objects.get(created_job=first)
    assert installment_states(case)[1] == (2, InstallmentStatus.DUE, Decimal("0.00"))
    assert again.counts["matched"] == 0
    assert PreInvoice.objects.count() == 1


def test_same_file_twice_is_refused(compass: Creditor, batch: Batch) -> None:
    make_case(batch, "0010000001", "100.00")
    data = prefattura("CMP-9;0010000001;;20/02/2025;100,00")
    run(compass, data)

    again = run_file(compass, LAYOUT, data, "prefattura.csv")

    assert again.status == JobStatus.ALREADY_APPLIED
    assert Payment.objects.count() == 1


def test_same_payment_twice_in_a_file_is_commissioned_once(compass: Creditor, batch: Batch) -> None:
    make_case(batch, "0010000001", "100.00", "100.00")

    with translation.override("en"):
        job = run(
            compass,
            prefattura(
                "CMP-9;0010000001;;20/02/2025;100,00", "CMP-9;0010000001;;20/02/2025;100,00"
            ),
        )

    assert outcomes(job) == [(2, RowOutcome.MATCHED), (3, RowOutcome.ALREADY_COMMISSIONED)]
    assert job.rows.get(number=3).message == "The same payment is on row 2 of this file."
    assert Payment.objects.count() == 1


def test_two_payments_of_a_case_pay_installments_in_order(compass: Creditor, batch: Batch) -> None:
    case = make_case(batch, "0010000001", "100.00", "100.00", "100.00")

    job = run(
        compass,
        prefattura("CMP-9;0010000001;;20/03/2025;100,00", "CMP-9;0010000001;;20/02/2025;100,00"),
    )

    assert job.counts["matched"] == 2
    paid = dict(PaymentAllocation.objects.values_list("payment__paid_on", "installment__number"))
    assert paid == {date(2025, 2, 20): 1, date(2025, 3, 20): 2}
    assert installment_states(case)[2] == (3, InstallmentStatus.DUE, Decimal("0.00"))


def test_confirmed_pre_invoice_is_never_changed(compass: Creditor, batch: Batch) -> None:
    case = make_case(batch, "0010000001", "100.00")
    locked = PreInvoice.objects.create(
        creditor=compass,
        period_start=date(2025, 2, 1),
        period_end=date(2025, 2, 28),
        state=PreInvoiceState.CONFIRMED,
    )
    payment = PaymentFactory(
        case=case,
        paid_on=date(2025, 2, 20),
        amount=Decimal("100.00"),
        state=PaymentState.COLLECTED,
        collected_on=date(2025, 2, 20),
        pre_invoice=locked,
    )
    before = Payment.objects.values().get(pk=payment.pk)

    with translation.override("en"):
        job = run(compass, prefattura("CMP-9;0010000001;;20/02/2025;100,00"))

    row = job.rows.get()
    assert (row.outcome, row.message) == (
        RowOutcome.ALREADY_COMMISSIONED,
        "The payment is on a confirmed pre-invoice: nothing was changed.",
    )
    assert Payment.objects.values().get(pk=payment.pk) == before
    assert Payment.objects.count() == 1


def test_matched_payments_join_a_draft_pre_invoice_of_their_period(
    compass: Creditor, batch: Batch
) -> None:
    make_case(batch, "0010000001", "100.00")
    make_case(batch, "0010000002", "70.00")

    job = run(
        compass,
        prefattura("CMP-9;0010000001;;20/02/2025;100,00", "CMP-9;0010000002;;03/04/2025;70,00"),
    )

    pre_invoice = PreInvoice.objects.get()
    assert (pre_invoice.period_start, pre_invoice.period_end, pre_invoice.state) == (
        date(2025, 2, 20),
        date(2025, 4, 3),
        PreInvoiceState.DRAFT,
    )
    assert pre_invoice.job == job
    assert pre_invoice.payments.count() == 2
    assert job.counts["pre_invoice"] == pre_invoice.pk


def test_no_terms_commission_at_zero_and_row_says_so(compass: Creditor, batch: Batch) -> None:
    make_case(batch, "0010000001", "100.00")

    with translation.override("en"):
        job = run(compass, prefattura("CMP-9;0010000001;;20/02/2025;100,00"))

    row = job.rows.get()
    assert row.commission == Decimal("0.00")
    assert row.message == (
        "Payment created on installment(s) 1. No commission terms for the batch or the "
        "creditor: commission at 0%."
    )
    assert job.counts["without_terms"] == 1


def test_counts(compass: Creditor, batch: Batch) -> None:
    CommissionTerms.objects.create(creditor=compass, batch=batch, rate=Decimal("10.00"))
    make_case(batch, "0010000001", "100.00", "55.55")

    job = run(
        compass,
        prefattura(
            "CMP-9;0010000001;;20/02/2025;100,00",
            "CMP-9;0010000001;;20/03/2025;55,55",
            "CMP-9;0010000001;;20/03/2025;55,55",
            "CMP-9;0010000009;;20/03/2025;55,55",
            "CMP-9;0010000001;;20/04/2025;1,00",
            "CMP-9;0010000001;;32/04/2025;1,00",
        ),
    )

    assert {k: v for k, v in job.counts.items() if k != "pre_invoice"} == {
        "rows": 6,
        "matched": 2,
        "already_commissioned": 1,
        "collected_total": "155.55",
        # 10.00 + 5.555 rounded half up.
        "commission_total": "15.56",
        "payments_created": 2,
        "without_terms": 0,
        "not_found": {"contract_not_found": 1, "amount_not_matched": 1},
        "errors": 1,
    }


def test_spreadsheet_with_title_rows_and_excel_dates(compass: Creditor, batch: Batch) -> None:
    make_case(batch, "0010000001", "100.00")
    make_case(batch, "0010000002", "70.00")
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["Prefattura Compass Banca - febbraio 2025"])
    sheet.append([])
    sheet.append(["Lotto", "Contratto", "Nominativo", "DataPagamento", "Importo"])
    sheet.append(["CMP-9", 10000001, None, date(2025, 2, 20), Decimal("100")])
    sheet.append(["CMP-9", "0010000002", "BIANCHI ANNA", "03/04/2025", "70,00"])
    stream = io.BytesIO()
    workbook.save(stream)

    job = run(compass, stream.getvalue(), "prefattura.xlsx")

    assert [outcome for _n, outcome in outcomes(job)] == [RowOutcome.MATCHED] * 2
    assert job.rows.get(contract_number="0010000002").debtor_name == "BIANCHI ANNA"


def test_failure_halfway_leaves_the_database_unchanged(
    compass: Creditor, batch: Batch, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(batch, "0010000001", "100.00")
    registered = PaymentFactory(case=case, paid_on=date(2025, 3, 1), amount=Decimal("9.00"))

    def broken(self: Any, matched: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("imports.prefattura.PreInvoiceImporter._record_events", broken)
    job = run_file(
        compass,
        LAYOUT,
        prefattura("CMP-9;0010000001;;20/02/2025;100,00", "CMP-9;0010000001;;01/03/2025;9,00"),
    )

    assert job.status == JobStatus.FAILED
    assert list(Payment.objects.values_list("pk", "state")) == [
        (registered.pk, PaymentState.REPORTED)
    ]
    assert installment_states(case) == [(1, InstallmentStatus.DUE, Decimal("0.00"))]
    assert not PreInvoice.objects.exists()
    assert not PaymentAllocation.objects.exists()
    assert not ImportRow.objects.exists()


def test_command_line_prints_the_pre_invoice_counts(
    compass: Creditor, batch: Batch, tmp_path: Any
) -> None:
    make_case(batch, "0010000001", "100.00")
    path = tmp_path / "prefattura.csv"
    path.write_bytes(prefattura("CMP-9;0010000001;;20/02/2025;100,00", "X;1;;20/02/2025;1,00"))
    out = io.StringIO()

    call_command(
        "import_file", str(path), "--creditor", "compass", "--layout", LAYOUT, "--json", stdout=out
    )

    printed = json.loads(out.getvalue())
    assert {
        key: printed[key]
        for key in (
            "rows",
            "matched",
            "already_commissioned",
            "collected_total",
            "commission_total",
            "not_found",
        )
    } == {
        "rows": 2,
        "matched": 1,
        "already_commissioned": 0,
        "collected_total": "100.00",
        "commission_total": "0.00",
        "not_found": {"contract_not_found": 1, "amount_not_matched": 0},
    }
    assert printed["job"] == ImportJob.objects.get().pk


def test_registered_payment_a_day_off_is_reported_not_paid_again(
    compass: Creditor, batch: Batch
) -> None:
    """The agency recorded the payment on 01/03, the creditor's file says 02/03: the row must
    not create a second payment on the next installment of the same amount."""
    case = make_case(batch, "0010000001", "100.00", "100.00", "100.00")
    registered = record_payment(case, date(2025, 3, 1), Decimal("100.00"), "agency", None)

    with translation.override("en"):
        job = run(compass, prefattura("CMP-9;0010000001;;02/03/2025;100,00"))

    row = job.rows.get()
    assert row.outcome == RowOutcome.AMOUNT_NOT_MATCHED
    assert row.message == (
        "No payment or open installments add up to € 100.00 on 02/03/2025; closest: a "
        "registered payment of the same amount on 01/03/2025."
    )
    assert list(Payment.objects.values_list("pk", "state")) == [
        (registered.pk, PaymentState.REPORTED)
    ]
    assert installment_states(case) == [
        (1, InstallmentStatus.PAID, Decimal("100.00")),
        (2, InstallmentStatus.DUE, Decimal("0.00")),
        (3, InstallmentStatus.DUE, Decimal("0.00")),
    ]


def test_second_installment_paid_after_a_registered_one_is_still_created(
    compass: Creditor, batch: Batch
) -> None:
    """Both payments in the file: the first takes the registered one, the second the next
    installment."""
    case = make_case(batch, "0010000001", "100.00", "100.00", "100.00")
    record_payment(case, date(2025, 3, 1), Decimal("100.00"), "agency", None)

    job = run(
        compass,
        prefattura("CMP-9;0010000001;;01/04/2025;100,00", "CMP-9;0010000001;;01/03/2025;100,00"),
    )

    assert outcomes(job) == [(2, RowOutcome.MATCHED), (3, RowOutcome.MATCHED)]
    assert [s for _n, s, _p in installment_states(case)] == [
        InstallmentStatus.PAID,
        InstallmentStatus.PAID,
        InstallmentStatus.DUE,
    ]


def test_zero_or_negative_amount_is_an_error_of_the_row(compass: Creditor, batch: Batch) -> None:
    """A refund or a zero line is no payment to match: the row says so, nothing is matched."""
    make_case(batch, "0010000001", "100.00", "100.00")

    with translation.override("en"):
        job = run(
            compass,
            prefattura(
                "CMP-9;0010000001;;20/02/2025;0,00",
                "CMP-9;0010000001;;20/02/2025;-100,00",
            ),
        )

    assert list(job.rows.order_by("number").values_list("outcome", "message")) == [
        (RowOutcome.ERROR, "Row 2, the amount € 0.00 is not a payment: it must be above zero"),
        (RowOutcome.ERROR, "Row 3, the amount € -100.00 is not a payment: it must be above zero"),
    ]
    assert job.counts["errors"] == 2
    assert not Payment.objects.exists()


def test_a_payment_dated_in_the_future_is_an_error_of_the_row(
    compass: Creditor, batch: Batch, time_machine: Any
) -> None:
    """A pre-invoice lists payments made: a date to come is the creditor's typing error."""
    time_machine.move_to(date(2025, 6, 30))
    make_case(batch, "0010000001", "100.00", "100.00")

    with translation.override("en"):
        job = run(
            compass,
            prefattura(
                "CMP-9;0010000001;;01/07/2025;100,00", "CMP-9;0010000001;;30/06/2025;100,00"
            ),
        )

    future = job.rows.get(number=2)
    assert (future.outcome, future.message) == (
        RowOutcome.ERROR,
        "Row 2, the payment date 01/07/2025 is in the future",
    )
    assert job.rows.get(number=3).outcome == RowOutcome.MATCHED
    assert list(Payment.objects.values_list("paid_on", flat=True)) == [date(2025, 6, 30)]
