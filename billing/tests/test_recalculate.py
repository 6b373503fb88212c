"""Commissions of a draft computed again with the terms as they are now."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.models import User
from billing.models import PreInvoice, PreInvoiceState
from billing.services import PreInvoiceLocked, recalculate_commissions
from billing.tests.factories import CommissionTermsFactory
from cases.models import Payment, PaymentEvent
from creditors.models import Batch

pytestmark = pytest.mark.django_db


def lines(pre_invoice: PreInvoice) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    return {
        p.case.contract_number: (p.commission_rate, p.commission)
        for p in Payment.objects.filter(pre_invoice=pre_invoice).select_related("case")
    }


def test_terms_set_after_the_file_apply_to_the_draft(
    compass_pre_invoice: PreInvoice, compass_batch: Batch, back_office: User
) -> None:
    CommissionTermsFactory(creditor=compass_batch.creditor, rate=Decimal("12.00"))

    changed = recalculate_commissions(compass_pre_invoice, back_office)

    # 1,234.56 at 12% = 148.1472 → 148.15; 98.32 at 12% = 11.7984 → 11.80; 50.00 → 6.00.
    assert changed == 3
    assert lines(compass_pre_invoice) == {
        "0012345678": (Decimal("12.00"), Decimal("148.15")),
        "0099": (Decimal("12.00"), Decimal("11.80")),
        "0077": (Decimal("12.00"), Decimal("6.00")),
    }
    assert PaymentEvent.objects.filter(detail__startswith="Provvigione ricalcolata").count() == 3
    assert recalculate_commissions(compass_pre_invoice, back_office) == 0


def test_the_cap_counts_the_case_s_other_commissions_but_not_the_draft_s_own(
    compass_pre_invoice: PreInvoice, compass_batch: Batch, back_office: User
) -> None:
    CommissionTermsFactory(
        creditor=compass_batch.creditor, rate=Decimal("10.00"), cap=Decimal("100.00")
    )

    recalculate_commissions(compass_pre_invoice, back_office)
    recalculate_commissions(compass_pre_invoice, back_office)

    # 123.46 would pass the cap: 100.00, computed again from scratch each time.
    assert lines(compass_pre_invoice)["0012345678"] == (Decimal("10.00"), Decimal("100.00"))


def test_a_confirmed_pre_invoice_is_never_computed_again(
    compass_pre_invoice: PreInvoice, compass_batch: Batch, back_office: User
) -> None:
    PreInvoice.objects.filter(pk=compass_pre_invoice.pk).update(state=PreInvoiceState.CONFIRMED)
    CommissionTermsFactory(creditor=compass_batch.creditor, rate=Decimal("50.00"))
    before = lines(compass_pre_invoice)

    with pytest.raises(PreInvoiceLocked):
        recalculate_commissions(compass_pre_invoice, back_office)

    assert lines(compass_pre_invoice) == before


def test_the_page_button_recomputes_for_the_back_office_only(
    english: Client,
    compass_pre_invoice: PreInvoice,
    compass_batch: Batch,
    back_office: User,
    operator: User,
) -> None:
    CommissionTermsFactory(creditor=compass_batch.creditor, rate=Decimal("12.00"))
    url = reverse("billing:pre-invoice-recalculate", args=[compass_pre_invoice.pk])
    english.force_login(operator)
    assert english.post(url).status_code == 403
    assert lines(compass_pre_invoice)["0099"][0] == Decimal("12.50")

    english.force_login(back_office)
    response = english.post(url, follow=True)

    assert "3 payments changed" in response.content.decode()
    assert lines(compass_pre_invoice)["0099"] == (Decimal("12.00"), Decimal("11.80"))


def test_the_api_recomputes_a_draft_and_refuses_a_confirmed_one(
    english: Client, compass_pre_invoice: PreInvoice, compass_batch: Batch, back_office: User
) -> None:
    CommissionTermsFactory(creditor=compass_batch.creditor, rate=Decimal("12.00"))
    url = reverse("api:pre-invoice-recalculate", args=[compass_pre_invoice.pk])
    english.force_login(back_office)

    response = english.post(url)

    assert response.status_code == 200
    # 148.15 + 11.80 + 6.00
    assert response.json()["totals"]["commission"] == "165.95"
    PreInvoice.objects.filter(pk=compass_pre_invoice.pk).update(state=PreInvoiceState.CONFIRMED)
    assert english.post(url).status_code == 409


def test_the_command_recomputes_a_draft(
    compass_pre_invoice: PreInvoice, compass_batch: Batch
) -> None:
    CommissionTermsFactory(creditor=compass_batch.creditor, rate=Decimal("12.00"))
    out = StringIO()

    call_command("pre_invoice", "recalculate", str(compass_pre_invoice.pk), "--json", stdout=out)

    result = json.loads(out.getvalue())
    assert (result["status"], result["changed"], result["commission"]) == (
        "recalculated",
        3,
        "165.95",
    )
