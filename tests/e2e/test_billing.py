"""A back-office user drafts, confirms and reads a pre-invoice, then the overview's chart, in a
real browser."""

from __future__ import annotations

import datetime
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import User
from billing.models import PreInvoice, PreInvoiceState
from billing.tests.factories import CommissionedPaymentFactory
from cases.tests.factories import BatchFactory, CaseFactory
from creditors.models import Creditor
from tests.e2e.test_unpaid_upload import log_in

pytestmark = pytest.mark.e2e
# Set to a folder to keep screenshots of the pages, for looking at them.
SCREENSHOTS = os.environ.get("INCASSO_E2E_SCREENSHOTS")


def snap(page: Page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png", full_page=True)


def test_draft_confirm_and_overview(page: Page, back_office: User, compass: Creditor) -> None:
    # GIVEN two commissioned Compass payments of June 2025, on no pre-invoice
    batch = BatchFactory(creditor=compass, code="LOTTO-2025-03")
    for contract, amount, commission in (
        ("0012345678", "1234.56", "123.46"),
        ("0099", "98.32", "12.29"),
    ):
        CommissionedPaymentFactory(
            case=CaseFactory(creditor=compass, batch=batch, contract_number=contract),
            paid_on=datetime.date(2025, 6, 5),
            amount=Decimal(amount),
            commission=Decimal(commission),
        )
    log_in(page, back_office)

    # WHEN they draft a pre-invoice for June from the Commissions menu
    page.locator(f"nav a[href='{reverse('billing:overview')}']").click()
    page.locator(f"a[href='{reverse('billing:pre-invoice-list')}']").click()
    page.locator(f"a[href='{reverse('billing:pre-invoice-create')}']").click()
    page.locator("#id_creditor").select_option(str(compass.pk))
    page.locator("#id_period_start").fill("2025-06-01")
    page.locator("#id_period_end").fill("2025-06-30")
    page.locator("main form button[type='submit']").click()
    page.wait_for_url(re.compile(r"/billing/pre-invoices/\d+/$"))

    # THEN the draft shows both lines and the totals, VAT rounded half-up (135.75 → 29.87)
    expect(page.locator("[data-testid=total-commission]")).to_have_text("€ 135,75")
    expect(page.locator("[data-testid=total-vat]")).to_have_text("€ 29,87")
    expect(page.locator("[data-testid=total-with-vat]")).to_have_text("€ 165,62")
    snap(page, "pre-invoice-draft")

    # WHEN they confirm it
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.locator("[data-testid=confirm]").click()

    # THEN, once they accept the warning, it has the year's first number and is locked
    expect(page.locator("[data-testid=confirm]")).to_have_count(0)
    assert len(questions) == 1  # the warning that a confirmed pre-invoice never changes
    pre_invoice = PreInvoice.objects.get()
    assert pre_invoice.state == PreInvoiceState.CONFIRMED
    year = pre_invoice.confirmed_at.year if pre_invoice.confirmed_at else 0
    expect(page.locator("[data-testid=number]")).to_have_text(f"PF-{year}-0001")
    snap(page, "pre-invoice-confirmed")

    # AND the overview draws June's figures with the vendored Chart.js
    page.goto(reverse("billing:overview"))
    expect(page.locator("[data-testid=total-commission]")).to_have_text("€ 135,75")
    page.wait_for_function("() => window.Chart && Chart.getChart('commission-chart')")
    labels = page.evaluate("() => Chart.getChart('commission-chart').data.labels")
    assert labels == ["06/2025"]
    snap(page, "overview")
    page.goto(reverse("billing:creditor-terms", args=[compass.pk]))
    expect(page.locator("h1")).to_contain_text(compass.name)
    snap(page, "terms")
