"""The canonical fields a layout can map a creditor's columns to, per kind of file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.models import Address, Case, Contact, Debtor
from creditors.models import Batch
from imports import parsers
from imports.models import ImportKind
from imports.readers import Cell

VAT_NUMBER_DIGITS = 11


def _upper_text(value: Cell) -> str:
    return parsers.parse_text(value).upper()


def _optional_text(value: Cell) -> str:
    return "" if value is None else parsers.parse_text(value)


def _tax_code(value: Cell) -> str:
    """A codice fiscale or partita IVA; a VAT number saved as a number gets its zeros back.

    Spaces are dropped ("RSS MRA 80A01 H501U"), since debtors are merged by the code.
    """
    text = "".join(_upper_text(value).split())
    if text.isascii() and text.isdigit() and len(text) < VAT_NUMBER_DIGITS:
        return text.zfill(VAT_NUMBER_DIGITS)
    return text


@dataclass(frozen=True)
class FieldSpec:
    """A canonical field: how a cell becomes its value, and whether a row may leave it empty."""

    name: str
    label: Promise
    parse: Callable[[Cell], Any]
    blank_ok: bool = False
    identifier: bool = False
    coded: bool = False


def _spec(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


CONTRACT = FieldSpec("contract_number", _("Contract number"), parsers.parse_text, identifier=True)
DEBTOR_NAME = FieldSpec("debtor_name", _("Debtor name"), parsers.parse_text, blank_ok=True)
TAX_CODE = FieldSpec("tax_code", _("Tax code"), _tax_code, blank_ok=True)
INSTALLMENT_NUMBER = FieldSpec(
    "installment_number", _("Installment number"), parsers.parse_integer, blank_ok=True
)
DUE_DATE = FieldSpec("due_date", _("Due date"), parsers.parse_date)
AMOUNT = FieldSpec("amount", _("Installment amount"), parsers.parse_amount)
PAYMENT_METHOD = FieldSpec("payment_method", _("Payment method"), _upper_text, coded=True)


def _max_length(model: type[models.Model], field: str) -> int:
    return int(getattr(model._meta.get_field(field), "max_length", 0) or 0)


# Text longer than its column is a row error, never a failed job or a cut value.
MAX_LENGTHS: dict[str, int] = {
    "batch_code": _max_length(Batch, "code"),
    "contract_number": _max_length(Case, "contract_number"),
    "creditor_reference": _max_length(Case, "creditor_reference"),
    "original_creditor": _max_length(Case, "original_creditor"),
    "product": _max_length(Case, "product"),
    "debtor_name": _max_length(Debtor, "name"),
    "tax_code": _max_length(Debtor, "tax_code"),
    "street": _max_length(Address, "street"),
    "city": _max_length(Address, "city"),
    "province": _max_length(Address, "province"),
    "phone": _max_length(Contact, "value"),
    "mobile": _max_length(Contact, "value"),
    "email": _max_length(Contact, "value"),
    "iban": _max_length(Contact, "value"),
}

FIELDS: dict[str, dict[str, FieldSpec]] = {
    ImportKind.ACQUISITION: _spec(
        # A layout may leave it out: the batch is then named after the file.
        FieldSpec("batch_code", _("Batch"), parsers.parse_text),
        CONTRACT,
        FieldSpec(
            "creditor_reference",
            _("Creditor reference"),
            parsers.parse_text,
            blank_ok=True,
            identifier=True,
        ),
        FieldSpec("original_creditor", _("Original creditor"), _optional_text, blank_ok=True),
        DEBTOR_NAME,
        FieldSpec("debtor_surname", _("Debtor surname"), _optional_text, blank_ok=True),
        FieldSpec("debtor_first_name", _("Debtor first name"), _optional_text, blank_ok=True),
        TAX_CODE,
        FieldSpec("birth_date", _("Birth date"), parsers.parse_date, blank_ok=True),
        FieldSpec("street", _("Address"), _optional_text, blank_ok=True),
        FieldSpec("postcode", _("Postcode"), parsers.parse_postcode, blank_ok=True),
        FieldSpec("city", _("City"), _optional_text, blank_ok=True),
        FieldSpec("province", _("Province"), _upper_text, blank_ok=True),
        FieldSpec("phone", _("Phone"), _optional_text, blank_ok=True),
        FieldSpec("mobile", _("Mobile"), _optional_text, blank_ok=True),
        FieldSpec("email", _("E-mail"), _optional_text, blank_ok=True),
        FieldSpec("iban", _("IBAN"), _optional_text, blank_ok=True),
        FieldSpec("product", _("Product"), _optional_text, blank_ok=True),
        FieldSpec("principal", _("Principal"), parsers.parse_amount, blank_ok=True),
        FieldSpec("interest", _("Interest"), parsers.parse_amount, blank_ok=True),
        FieldSpec("charges", _("Fees assigned"), parsers.parse_amount, blank_ok=True),
        FieldSpec("total", _("Total assigned"), parsers.parse_amount, blank_ok=True),
        FieldSpec("acceleration_date", _("Acceleration date"), parsers.parse_date, blank_ok=True),
        FieldSpec("last_payment_date", _("Last payment date"), parsers.parse_date, blank_ok=True),
        INSTALLMENT_NUMBER,
        DUE_DATE,
        AMOUNT,
        PAYMENT_METHOD,
        # In a file of parties of an assignment sent as several files: debtor, co-obligor or
        # guarantor, through the layout's value map.
        FieldSpec("party_role", _("Party role"), _upper_text, blank_ok=True),
    ),
    ImportKind.UNPAID: _spec(
        CONTRACT,
        DEBTOR_NAME,
        TAX_CODE,
        INSTALLMENT_NUMBER,
        DUE_DATE,
        AMOUNT,
        PAYMENT_METHOD,
        FieldSpec("unpaid_on", _("Unpaid on"), parsers.parse_date, blank_ok=True),
        FieldSpec("fees", _("Protest fees"), parsers.parse_amount, blank_ok=True),
    ),
    ImportKind.PRE_INVOICE: _spec(
        FieldSpec("batch_code", _("Batch"), parsers.parse_text),
        CONTRACT,
        # Shown in the report only: a payment is matched by batch, contract, date and amount.
        FieldSpec("debtor_name", _("Debtor name"), _optional_text, blank_ok=True),
        FieldSpec("paid_on", _("Paid on"), parsers.parse_date),
        FieldSpec("amount", _("Amount paid"), parsers.parse_amount),
    ),
}
