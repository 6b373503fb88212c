"""The agency's FatturaPA for a confirmed pre-invoice: valid, with the page's totals, and the
payments invoiced once it is exported."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal
from typing import Any

import a38
import pytest
from a38.validation import Validation
from defusedxml import ElementTree
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, User
from billing.fatturapa import InvoiceDetails, InvoiceInvalid, invoice_xml, split_vat_number
from billing.models import PreInvoice
from billing.services import BillingRefused, confirm_pre_invoice
from cases.models import PaymentEvent, PaymentState
from creditors.models import Creditor

pytestmark = pytest.mark.django_db

FORM = {
    "number": "2025/118",
    "date": "2025-07-10",
    "street": "Via Caldera 21",
    "postcode": "20153",
    "city": "Milano",
    "province": "mi",
    "country": "it",
    "recipient_code": "abc1234",
    "pec": "",
}
DETAILS = InvoiceDetails(
    number="2025/118",
    date=datetime.date(2025, 7, 10),
    street="Via Caldera 21",
    postcode="20153",
    city="Milano",
    province="MI",
    country="IT",
    recipient_code="ABC1234",
    pec="",
)


@pytest.fixture
def confirmed(compass_pre_invoice: PreInvoice, back_office: User) -> PreInvoice:
    return confirm_pre_invoice(compass_pre_invoice, back_office)


def parse(xml: bytes) -> Any:
    return a38.auto_from_etree(ElementTree.fromstring(xml))


def export_url(pre_invoice: PreInvoice) -> str:
    return reverse("billing:invoice-export", args=[pre_invoice.pk])


def test_vat_numbers_are_split_into_country_and_code() -> None:
    assert split_vat_number("IT04567890126") == ("IT", "04567890126")
    assert split_vat_number(" it 0456 7890 126") == ("IT", "04567890126")
    assert split_vat_number("04567890126") == ("IT", "04567890126")


def test_xml_parses_back_valid_with_the_pre_invoice_totals(
    confirmed: PreInvoice, settings: Any
) -> None:
    invoice = parse(invoice_xml(confirmed, DETAILS))

    validation = Validation()
    invoice.validate(validation)
    assert [str(e) for e in validation.errors] == []
    header = invoice.fattura_elettronica_header
    assert header.dati_trasmissione.formato_trasmissione == "FPR12"
    assert header.dati_trasmissione.codice_destinatario == "ABC1234"
    supplier = header.cedente_prestatore.dati_anagrafici
    assert supplier.id_fiscale_iva.id_codice == settings.INCASSO_AGENCY["vat_number"]
    assert supplier.anagrafica.denominazione == settings.INCASSO_AGENCY["name"]
    assert supplier.regime_fiscale == "RF01"
    customer = header.cessionario_committente
    assert customer.dati_anagrafici.id_fiscale_iva.id_codice == "04567890126"
    assert customer.dati_anagrafici.anagrafica.denominazione == "Compass Banca S.p.A."
    assert (customer.sede.indirizzo, customer.sede.cap, customer.sede.comune) == (
        "Via Caldera 21",
        "20153",
        "Milano",
    )

    (body,) = invoice.fattura_elettronica_body
    document = body.dati_generali.dati_generali_documento
    assert (document.tipo_documento, document.numero, document.data) == (
        "TD01",
        "2025/118",
        datetime.date(2025, 7, 10),
    )
    assert document.importo_totale_documento == Decimal("165.62")
    (line,) = body.dati_beni_servizi.dettaglio_linee
    assert line.prezzo_totale == Decimal("135.75")
    assert line.aliquota_iva == Decimal("22.00")
    assert confirmed.number in line.descrizione
    (summary,) = body.dati_beni_servizi.dati_riepilogo
    assert (summary.imponibile_importo, summary.imposta) == (Decimal("135.75"), Decimal("29.87"))


def test_draft_cannot_be_invoiced(compass_pre_invoice: PreInvoice) -> None:
    with pytest.raises(BillingRefused):
        invoice_xml(compass_pre_invoice, DETAILS)


def test_a38_errors_are_reported(confirmed: PreInvoice) -> None:
    Creditor.objects.filter(pk=confirmed.creditor_id).update(name="X" * 120)
    confirmed.creditor.refresh_from_db()

    with pytest.raises(InvoiceInvalid) as invalid:
        invoice_xml(confirmed, DETAILS)

    assert any("denominazione" in error for error in invalid.value.errors)


def test_export_downloads_the_xml_and_invoices_the_payments(
    english: Client, back_office: User, confirmed: PreInvoice
) -> None:
    english.force_login(back_office)

    response = english.post(export_url(confirmed), FORM)

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="IT12345670124_')
    invoice = parse(b"".join(response.streaming_content))
    assert invoice.fattura_elettronica_body[0].dati_generali.dati_generali_documento.numero == (
        "2025/118"
    )
    assert set(confirmed.payments.values_list("state", flat=True)) == {PaymentState.INVOICED}
    events = PaymentEvent.objects.filter(payment__pre_invoice=confirmed)
    assert events.count() == 3
    assert {(e.from_state, e.to_state, e.user_id) for e in events} == {
        (PaymentState.COMMISSIONED, PaymentState.INVOICED, back_office.pk)
    }
    assert AuditEvent.objects.filter(
        summary="Invoice 2025/118 exported, 3 payments invoiced"
    ).exists()

    # A second export gives the XML again but invoices nothing twice.
    assert english.post(export_url(confirmed), FORM).status_code == 200
    assert PaymentEvent.objects.filter(payment__pre_invoice=confirmed).count() == 3


def test_export_form_offers_the_pre_invoice_number(
    client: Client, back_office: User, confirmed: PreInvoice
) -> None:
    client.force_login(back_office)

    response = client.get(export_url(confirmed))

    assert response.status_code == 200
    assert response.context["form"].initial["number"] == confirmed.number
    assert response.context["totals"].total == Decimal("165.62")


def test_export_form_errors(english: Client, back_office: User, confirmed: PreInvoice) -> None:
    english.force_login(back_office)

    response = english.post(
        export_url(confirmed), {**FORM, "recipient_code": "0000000", "postcode": "2015"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "postcode": ["A postcode (CAP) has 5 digits."],
        "pec": ["With recipient code 0000000, give the customer's PEC."],
    }
    assert set(confirmed.payments.values_list("state", flat=True)) == {PaymentState.COMMISSIONED}


def test_creditor_without_vat_number_is_told(
    english: Client, back_office: User, confirmed: PreInvoice
) -> None:
    Creditor.objects.filter(pk=confirmed.creditor_id).update(vat_number="")
    english.force_login(back_office)

    response = english.post(export_url(confirmed), FORM)

    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [
        "Creditor COMPASS has no VAT number: add it before invoicing."
    ]


def test_operator_may_not_export(client: Client, operator: User, confirmed: PreInvoice) -> None:
    client.force_login(operator)

    assert client.get(export_url(confirmed)).status_code == 403
    assert client.post(export_url(confirmed), FORM).status_code == 403
    assert set(confirmed.payments.values_list("state", flat=True)) == {PaymentState.COMMISSIONED}


def test_characters_and_a_date_the_exchange_system_rejects_invoice_nothing(
    english: Client, back_office: User, confirmed: PreInvoice
) -> None:
    english.force_login(back_office)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    form = {**FORM, "street": "Via\x01Roma ☃", "city": "Milano 😀", "date": tomorrow.isoformat()}

    response = english.post(export_url(confirmed), form)

    assert response.status_code == 400
    assert response.context["errors"] == [
        "Customer's address: the characters '\\x01' '☃' are not allowed in an electronic invoice.",
        "City: the characters '😀' are not allowed in an electronic invoice.",
        f"Invoice date: {tomorrow:%d/%m/%Y} is still to come; an invoice is dated when it is "
        "issued.",
    ]
    assert set(confirmed.payments.values_list("state", flat=True)) == {PaymentState.COMMISSIONED}
    confirmed.refresh_from_db()
    assert confirmed.invoice_number == ""
    # An internationalised PEC passes the e-mail check but not the exchange system's.
    pec = {**FORM, "number": "N°1", "recipient_code": "0000000", "pec": "fatture@pèc例.it"}
    response = english.post(export_url(confirmed), pec)
    assert response.status_code == 400
    # The number and the PEC take Basic Latin only, the texts Latin-1 too.
    assert response.context["errors"] == [
        "Invoice number: the characters '°' are not allowed in an electronic invoice.",
        "Recipient PEC: the characters 'è' '例' are not allowed in an electronic invoice.",
    ]
    # Latin-1 letters are Italian names' own: accepted.
    xml = invoice_xml(confirmed, dataclasses.replace(DETAILS, street="Via Più Là 1"))
    assert "<Indirizzo>Via Più Là 1</Indirizzo>".encode() in xml
