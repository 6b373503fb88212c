"""The agency's invoice for a confirmed pre-invoice, as a FatturaPA (FPR12, business to
business) XML built and validated with a38.

The agency is the supplier (cedente/prestatore), from `settings.INCASSO_AGENCY`; the creditor is
the customer (cessionario/committente). A creditor record holds only its name and VAT number,
so the customer's registered address and its SDI recipient code (or PEC) are entered on the
export form. The invoice has one line: the pre-invoice's commission total, taxed at its VAT
rate, with the figures of `billing.documents.pre_invoice_totals`.
"""

from __future__ import annotations

import datetime
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import a38
from a38.validation import Validation
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditAction
from accounts.services import record_event
from billing.documents import PreInvoiceTotals, pre_invoice_totals
from billing.models import PreInvoice
from billing.services import BillingRefused
from creditors.models import Creditor

BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The export's customer details each creditor keeps, by the creditor's field for them.
CREDITOR_FIELDS = {
    "street": "billing_street",
    "postcode": "billing_postcode",
    "city": "billing_city",
    "province": "billing_province",
    "country": "billing_country",
    "recipient_code": "sdi_code",
    "pec": "pec",
}
# The texts of a FatturaPA: printable Basic Latin and Latin-1 characters only; the invoice's
# number (String20Type), the recipient code and the PEC (EmailType) printable Basic Latin only.
INVOICE_CHARACTERS = re.compile(r"[\x20-\x7e\xa0-\xff]")
BASIC_LATIN = re.compile(r"[\x20-\x7e]")


@dataclass(frozen=True)
class InvoiceDetails:
    """What the export form asks: the invoice's number and date, and the customer's address
    and how the exchange system (SDI) reaches it."""

    number: str
    date: datetime.date
    street: str
    postcode: str
    city: str
    province: str
    country: str
    recipient_code: str
    pec: str


class InvoiceInvalid(BillingRefused):
    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(_("The invoice would not pass the exchange system's checks."))


def split_vat_number(vat_number: str) -> tuple[str, str]:
    """("IT", "01234567890") from "IT01234567890", "it 0123 4567 890" or "01234567890"."""
    compact = "".join(vat_number.split()).upper()
    if compact[:2].isalpha():
        return compact[:2], compact[2:]
    return "IT", compact


def _supplier() -> a38.CedentePrestatore:
    agency = settings.INCASSO_AGENCY
    country, code = split_vat_number(agency["vat_number"])
    return a38.CedentePrestatore(
        a38.DatiAnagraficiCedentePrestatore(
            a38.IdFiscaleIVA(country, code),
            anagrafica=a38.Anagrafica(denominazione=agency["name"]),
            regime_fiscale=agency["tax_regime"],
        ),
        a38.Sede(
            indirizzo=agency["street"],
            cap=agency["postcode"],
            comune=agency["city"],
            provincia=agency["province"] or None,
            nazione=agency["country"],
        ),
    )


def _customer(pre_invoice: PreInvoice, details: InvoiceDetails) -> a38.CessionarioCommittente:
    creditor = pre_invoice.creditor
    if not creditor.vat_number.strip():
        raise BillingRefused(
            _("Creditor %(code)s has no VAT number: add it before invoicing.")
            % {"code": creditor.code}
        )
    country, code = split_vat_number(creditor.vat_number)
    return a38.CessionarioCommittente(
        a38.DatiAnagraficiCessionarioCommittente(
            a38.IdFiscaleIVA(country, code),
            anagrafica=a38.Anagrafica(denominazione=creditor.name),
        ),
        a38.Sede(
            indirizzo=details.street,
            cap=details.postcode,
            comune=details.city,
            provincia=details.province or None,
            nazione=details.country,
        ),
    )


def line_description(pre_invoice: PreInvoice) -> str:
    # The invoice is an Italian tax document whatever the user's language.
    return (
        f"Provvigioni su incassi, prefattura {pre_invoice.number} "
        f"dal {pre_invoice.period_start:%d/%m/%Y} al {pre_invoice.period_end:%d/%m/%Y}"
    )


def _body(pre_invoice: PreInvoice, details: InvoiceDetails, totals: PreInvoiceTotals) -> Any:
    body = a38.FatturaElettronicaBody()
    body.dati_generali.dati_generali_documento = a38.DatiGeneraliDocumento(
        tipo_documento="TD01",
        divisa="EUR",
        data=details.date,
        numero=details.number,
        importo_totale_documento=totals.total,
    )
    body.dati_beni_servizi.add_dettaglio_linee(
        numero_linea=1,
        descrizione=line_description(pre_invoice),
        prezzo_unitario=totals.commission,
        prezzo_totale=totals.commission,
        aliquota_iva=totals.vat_rate,
        data_inizio_periodo=pre_invoice.period_start,
        data_fine_periodo=pre_invoice.period_end,
    )
    # The summary is written from our totals, not recomputed by a38, so the VAT is the one the
    # pre-invoice page shows (half-up to the cent on the commission total).
    body.dati_beni_servizi.dati_riepilogo = [
        a38.DatiRiepilogo(
            aliquota_iva=totals.vat_rate,
            imponibile_importo=totals.commission,
            imposta=totals.vat,
            esigibilita_iva="I",
        )
    ]
    return body


def build_invoice(pre_invoice: PreInvoice, details: InvoiceDetails) -> a38.FatturaPrivati12:
    if not pre_invoice.is_locked:
        raise BillingRefused(_("Only a confirmed pre-invoice can be invoiced."))
    invoice = a38.FatturaPrivati12()
    header = invoice.fattura_elettronica_header
    header.dati_trasmissione.id_trasmittente = a38.IdTrasmittente(
        *split_vat_number(settings.INCASSO_AGENCY["vat_number"])
    )
    # The file name's progressive, not a38's default (a timestamp): the same invoice exported
    # again is the same file.
    header.dati_trasmissione.progressivo_invio = progressive(pre_invoice)
    header.dati_trasmissione.codice_destinatario = details.recipient_code
    header.dati_trasmissione.pec_destinatario = details.pec or None
    header.cedente_prestatore = _supplier()
    header.cessionario_committente = _customer(pre_invoice, details)
    invoice.fattura_elettronica_body = [
        _body(pre_invoice, details, pre_invoice_totals(pre_invoice))
    ]
    return invoice


def validation_errors(invoice: a38.FatturaPrivati12) -> list[str]:
    validation = Validation()
    invoice.validate(validation)
    return [str(error) for error in validation.errors]


def details_errors(pre_invoice: PreInvoice, details: InvoiceDetails) -> list[str]:
    """What the exchange system would reject that a38 does not check: characters outside
    Basic Latin and Latin-1 (control characters included) in the texts, outside Basic Latin in
    the number, the recipient code and the PEC, and a date to come."""
    texts = [
        (_("Invoice number"), details.number, BASIC_LATIN),
        (_("Customer's address"), details.street, INVOICE_CHARACTERS),
        (_("Postcode"), details.postcode, INVOICE_CHARACTERS),
        (_("City"), details.city, INVOICE_CHARACTERS),
        (_("Province"), details.province, INVOICE_CHARACTERS),
        (_("Country"), details.country, INVOICE_CHARACTERS),
        (_("Recipient code"), details.recipient_code, BASIC_LATIN),
        (_("Recipient PEC"), details.pec, BASIC_LATIN),
        (_("Creditor's name"), pre_invoice.creditor.name, INVOICE_CHARACTERS),
    ]
    errors = [
        _("%(field)s: the characters %(characters)s are not allowed in an electronic invoice.")
        % {"field": label, "characters": " ".join(sorted({repr(c) for c in bad}))}
        for label, text, allowed in texts
        if (bad := [c for c in text if not allowed.fullmatch(c)])
    ]
    if details.date > timezone.localdate():
        errors.append(
            _("Invoice date: %(date)s is still to come; an invoice is dated when it is issued.")
            % {"date": details.date.strftime("%d/%m/%Y")}
        )
    return errors


def invoice_xml(pre_invoice: PreInvoice, details: InvoiceDetails) -> bytes:
    """The validated invoice as UTF-8 XML; a38's errors are raised as `InvoiceInvalid`."""
    errors = details_errors(pre_invoice, details)
    if errors:
        raise InvoiceInvalid(errors)
    invoice = build_invoice(pre_invoice, details)
    errors = validation_errors(invoice)
    if errors:
        raise InvoiceInvalid(errors)
    tree: ET.ElementTree = invoice.build_etree()
    buffer = io.BytesIO()
    tree.write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def invoice_filename(pre_invoice: PreInvoice) -> str:
    """The exchange system's name: country, VAT number, "_" and a unique progressive of up to
    five characters (here the pre-invoice's id in base 36)."""
    country, code = split_vat_number(settings.INCASSO_AGENCY["vat_number"])
    return f"{country}{code}_{progressive(pre_invoice)}.xml"


def progressive(pre_invoice: PreInvoice) -> str:
    """The pre-invoice's id in base 36 on five characters: the transmission's progressive."""
    number, digits = pre_invoice.pk, ""
    while number:
        number, digit = divmod(number, 36)
        digits = BASE36[digit] + digits
    return digits.rjust(5, "0")


def export_invoice(pre_invoice: PreInvoice, details: InvoiceDetails, user: Any) -> bytes:
    """The invoice's XML; its payments become invoiced once the XML is valid, and the
    creditor keeps the address and recipient given, for its next invoice."""
    from billing.services import mark_invoiced

    xml = invoice_xml(pre_invoice, details)
    with transaction.atomic():
        mark_invoiced(pre_invoice, user, details.number, details.date)
        remember_address(pre_invoice.creditor, details, user)
    return xml


def known_details(pre_invoice: PreInvoice) -> dict[str, Any]:
    """What the export asks that is known already: the creditor's invoicing address and
    recipient as last used, and the invoice issued for this pre-invoice, if any."""
    creditor = pre_invoice.creditor
    known: dict[str, Any] = {
        field: getattr(creditor, name)
        for field, name in CREDITOR_FIELDS.items()
        if getattr(creditor, name)
    }
    if pre_invoice.invoice_number:
        known.update(number=pre_invoice.invoice_number, date=pre_invoice.invoice_date)
    return known


def remember_address(creditor: Creditor, details: InvoiceDetails, user: Any) -> None:
    before = {name: getattr(creditor, name) for name in CREDITOR_FIELDS.values()}
    after = {name: getattr(details, field) for field, name in CREDITOR_FIELDS.items()}
    if after == before:
        return
    Creditor.objects.filter(pk=creditor.pk).update(**after)
    for name, value in after.items():
        setattr(creditor, name, value)
    record_event(
        user,
        AuditAction.UPDATE,
        creditor,
        summary="Invoicing address from the FatturaPA export",
        before=before,
        after=after,
    )
