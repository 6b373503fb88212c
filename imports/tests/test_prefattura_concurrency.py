"""A payment recorded by hand while a pre-invoice file is being applied to the same case waits
for the file, then takes what the file left open: no installment is paid twice."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections

from cases.models import Installment, InstallmentStatus, Payment, PaymentChannel
from cases.payments import record_payment
from cases.tests.factories import BatchFactory, CaseFactory, InstallmentFactory
from creditors.models import Creditor
from imports.models import JobStatus, Layout
from imports.prefattura.importer import PreInvoiceImporter
from imports.presets import install_presets
from imports.tests.helpers import csv_bytes, run_file

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite never runs two writing transactions at once"
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def test_payment_recorded_during_the_import_waits_and_pays_the_next_installment(
    transactional_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_presets(Layout)
    creditor = Creditor.objects.create(code="COMPASS", name="Compass Banca S.p.A.")
    batch = BatchFactory(creditor=creditor, code="CMP-9", assigned_on=date(2025, 1, 10))
    case = CaseFactory(creditor=creditor, batch=batch, contract_number="0010000001")
    for number in (1, 2):
        InstallmentFactory(
            case=case, number=number, due_date=date(2025, number + 1, 15), amount=Decimal("100")
        )

    cases_read = threading.Event()
    carry_on = threading.Event()
    ledgers = PreInvoiceImporter._ledgers

    def read_then_pause(self: PreInvoiceImporter, case_ids: list[int]) -> Any:
        read = ledgers(self, case_ids)
        cases_read.set()
        carry_on.wait(timeout=30)
        return read

    monkeypatch.setattr(PreInvoiceImporter, "_ledgers", read_then_pause)
    jobs = []

    def import_file() -> None:
        data = csv_bytes(
            "Lotto;Contratto;Nominativo;DataPagamento;Importo", "CMP-9;0010000001;;20/02/2025;100"
        )
        try:
            jobs.append(run_file(creditor, "prefattura", data, "prefattura.csv"))
        finally:
            connections.close_all()

    def pay_by_hand() -> None:
        try:
            record_payment(case, date(2025, 2, 21), Decimal("100"), PaymentChannel.AGENCY, None)
        finally:
            connections.close_all()

    importing = threading.Thread(target=import_file)
    importing.start()
    assert cases_read.wait(timeout=30), "the import never read the case"
    paying = threading.Thread(target=pay_by_hand)
    paying.start()
    paying.join(timeout=1)
    waited = paying.is_alive()
    carry_on.set()
    importing.join(timeout=30)
    paying.join(timeout=30)

    assert waited, "the payment by hand did not wait for the file"
    assert jobs and jobs[0].status == JobStatus.DONE, jobs and jobs[0].error
    paid = list(
        Installment.objects.filter(case=case)
        .order_by("number")
        .values_list("number", "status", "paid_amount")
    )
    assert paid == [
        (1, InstallmentStatus.PAID, Decimal("100.00")),
        (2, InstallmentStatus.PAID, Decimal("100.00")),
    ]
    by_hand = Payment.objects.get(created_job__isnull=True)
    assert list(by_hand.allocations.values_list("installment__number", "amount")) == [
        (2, Decimal("100.00"))
    ]
