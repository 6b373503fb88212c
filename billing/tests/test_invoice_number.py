"""A pre-invoice is invoiced once: its first FatturaPA export keeps the invoice's number and
date, a later export gives the same invoice again, and no number serves two invoices of a year."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, User
from billing.fatturapa import progressive
from billing.models import PreInvoice
from billing.services import confirm_pre_invoice
from billing.tests.factories import PreInvoiceFactory
from billing.tests.test_api import INVOICE, post, url
from cases.models import PaymentEvent, PaymentState

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed(compass_pre_invoice: PreInvoice, back_office: User) -> PreInvoice:
    return confirm_pre_invoice(compass_pre_invoice, back_office)


def test_exporting_again_repeats_the_invoice_and_refuses_another_number(
    english: Client, back_office: User, confirmed: PreInvoice
) -> None:
    english.force_login(back_office)
    first = post(english, url("fatturapa", confirmed), INVOICE)
    assert first.status_code == 200
    xml = b"".join(first.streaming_content)

    again = post(english, url("fatturapa", confirmed), INVOICE)
    other = post(english, url("fatturapa", confirmed), {**INVOICE, "number": "2025/119"})
    later = post(english, url("fatturapa", confirmed), {**INVOICE, "date": "2025-07-11"})

    assert again.status_code == 200
    # The same invoice, byte for byte: the transmission's progressive is the file name's.
    assert b"".join(again.streaming_content) == xml
    assert f"<ProgressivoInvio>{progressive(confirmed)}</ProgressivoInvio>".encode() in xml
    assert first["Content-Disposition"].endswith(f'_{progressive(confirmed)}.xml"')
    assert b"<Numero>2025/118</Numero>" in xml
    for refused in (other, later):
        assert refused.status_code == 409
        assert refused.json()["detail"] == (
            "This pre-invoice was invoiced with invoice 2025/118 of 10/07/2025: export it again "
            "with that number and date, not a new invoice."
        )
    confirmed.refresh_from_db()
    assert (confirmed.invoice_number, confirmed.invoice_date) == (
        "2025/118",
        datetime.date(2025, 7, 10),
    )
    # Each payment became invoiced once.
    assert set(confirmed.payments.values_list("state", flat=True)) == {PaymentState.INVOICED}
    invoiced = PaymentEvent.objects.filter(to_state=PaymentState.INVOICED)
    assert invoiced.count() == confirmed.payments.count() == 3
    detail = english.get(url("detail", confirmed)).json()
    assert (detail["invoice_number"], detail["invoice_date"]) == ("2025/118", "2025-07-10")


def test_a_number_of_another_invoice_of_the_year_is_refused(
    english: Client, back_office: User, confirmed: PreInvoice
) -> None:
    earlier = PreInvoiceFactory(
        creditor=confirmed.creditor,
        number="PF-2025-0001",
        invoice_number="2025/118",
        invoice_date=datetime.date(2025, 3, 1),
    )
    english.force_login(back_office)

    same_year = post(english, url("fatturapa", confirmed), INVOICE)
    next_year = post(english, url("fatturapa", confirmed), {**INVOICE, "date": "2026-01-05"})

    assert same_year.status_code == 409
    assert same_year.json()["detail"] == (
        f"Invoice 2025/118 of 2025 was already issued for pre-invoice {earlier}: "
        "choose the next number."
    )
    assert next_year.status_code == 200
    confirmed.refresh_from_db()
    assert confirmed.invoice_date == datetime.date(2026, 1, 5)


def test_the_export_page_offers_the_invoice_already_issued(
    english: Client, back_office: User, confirmed: PreInvoice
) -> None:
    english.force_login(back_office)
    page = reverse("billing:invoice-export", args=[confirmed.pk])
    fresh = english.get(page)
    assert fresh.context["form"].initial == {"number": confirmed.number}

    response = english.post(page, {**INVOICE, "date": "2025-07-10", "country": "IT"})
    assert response.status_code == 200
    offered: Any = english.get(page)

    # The same invoice, to the creditor's address as given the first time.
    assert offered.context["form"].initial == {
        "number": "2025/118",
        "date": datetime.date(2025, 7, 10),
        "street": "Via Caldera 21",
        "postcode": "20153",
        "city": "Milano",
        "province": "MI",
        "country": "IT",
        "recipient_code": "ABC1234",
    }
    assert "Invoiced with invoice 2025/118 of 10/07/2025" in offered.content.decode()
    detail = english.get(reverse("billing:pre-invoice-detail", args=[confirmed.pk]))
    assert "Invoiced with invoice 2025/118 of 10/07/2025" in detail.content.decode()
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, summary__startswith="Invoice 2025/118 exported"
    ).exists()


def test_the_creditors_address_is_kept_for_its_next_invoice(
    english: Client, back_office: User, confirmed: PreInvoice
) -> None:
    english.force_login(back_office)
    assert post(english, url("fatturapa", confirmed), INVOICE).status_code == 200
    creditor = confirmed.creditor
    creditor.refresh_from_db()
    assert (
        creditor.billing_street,
        creditor.billing_postcode,
        creditor.billing_city,
        creditor.billing_province,
        creditor.billing_country,
        creditor.sdi_code,
        creditor.pec,
    ) == ("Via Caldera 21", "20153", "Milano", "MI", "IT", "ABC1234", "")
    event = AuditEvent.objects.get(summary="Invoicing address from the FatturaPA export")
    assert event.user == back_office
    assert event.after["sdi_code"] == "ABC1234"

    # The next pre-invoice of the creditor offers it; a new address replaces it.
    following = PreInvoiceFactory(creditor=creditor, number="PF-2025-0009")
    following.state = "confirmed"
    following.save()
    page = english.get(reverse("billing:invoice-export", args=[following.pk]))
    assert page.context["form"].initial["street"] == "Via Caldera 21"
    moved = {
        **INVOICE,
        "number": "2025/119",
        "street": "Corso Italia 1",
        "recipient_code": "0000000",
        "pec": "fatture@pec.example.it",
    }
    assert post(english, url("fatturapa", following), moved).status_code == 200
    creditor.refresh_from_db()
    assert (creditor.billing_street, creditor.sdi_code, creditor.pec) == (
        "Corso Italia 1",
        "0000000",
        "fatture@pec.example.it",
    )
