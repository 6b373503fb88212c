"""The billing commands: the pages' checks and services, audited without a user, one JSON object
with --json, and exit status 1 with the reason when refused."""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from openpyxl import load_workbook

from accounts.models import AuditAction, AuditEvent, User
from billing.models import CommissionBasis, CommissionTerms, PreInvoice, PreInvoiceState
from billing.services import confirm_pre_invoice
from billing.tests.conftest import commissioned
from billing.tests.factories import CommissionTermsFactory, CommissionTierFactory
from cases.models import PaymentState
from creditors.models import Batch, Creditor

pytestmark = pytest.mark.django_db

INVOICE_OPTIONS = [
    "--invoice-number=2025/118",
    "--invoice-date=2025-07-10",
    "--street=Via Caldera 21",
    "--postcode=20153",
    "--city=Milano",
    "--province=MI",
    "--recipient-code=ABC1234",
]


def run(*args: str) -> dict[str, Any]:
    """The command's --json output, in the source language."""
    out = io.StringIO()
    with translation.override("en"):
        call_command(*args, "--json", stdout=out)
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


def refused(*args: str) -> tuple[str, dict[str, Any]]:
    """The error a refused command exits with, and what it printed with --json."""
    out = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError) as raised:
        call_command(*args, "--json", stdout=out)
    assert raised.value.returncode == 1
    return str(raised.value), json.loads(out.getvalue())


# set_commission_terms


def test_set_terms_creates_a_batchs_tiered_terms_audited_without_user(
    compass_batch: Batch,
) -> None:
    result = run(
        "set_commission_terms",
        "compass",
        "--batch=LOTTO-2025-03",
        "--rate=12.5",
        "--basis=case_age",
        "--tier=180:20",
        "--tier=90:15",
        "--cap=300",
    )

    terms = CommissionTerms.objects.get(batch=compass_batch)
    assert result == {
        "status": "created",
        "terms": terms.pk,
        "creditor": "COMPASS",
        "batch": "LOTTO-2025-03",
        "basis": "case_age",
        "rate": "12.50",
        "cap": "300.00",
        "tiers": [
            {"threshold": "90.00", "rate": "15.00"},
            {"threshold": "180.00", "rate": "20.00"},
        ],
    }
    event = AuditEvent.objects.get(action=AuditAction.CREATE)
    assert event.user is None
    assert event.after["tiers"] == [["90.00", "15.00"], ["180.00", "20.00"]]


def test_set_terms_replaces_them_as_a_whole(compass: Creditor) -> None:
    terms = CommissionTermsFactory(creditor=compass, basis=CommissionBasis.CASE_AGE)
    CommissionTierFactory(terms=terms, threshold=Decimal(90))

    result = run("set_commission_terms", "COMPASS", "--rate=8")

    assert (result["status"], result["terms"], result["basis"], result["tiers"]) == (
        "updated",
        terms.pk,
        "flat",
        [],
    )
    assert not terms.tiers.exists()
    assert AuditEvent.objects.get(action=AuditAction.UPDATE).before["tiers"] == [["90.00", "15.00"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate=150"], "rate: Ensure this value is less than or equal to 100."),
        (["--rate=10", "--basis=recovered"], "This basis needs at least one tier (from, rate)."),
        (["--rate=10", "--tier=90:15"], "One rate has no tiers: remove them, or choose a"),
        (
            ["--rate=10", "--basis=case_age", "--tier=90:15", "--tier=90:20"],
            "Each threshold may appear only once.",
        ),
        (["--rate=10", "--basis=case_age", "--tier=90"], "--tier '90' is not FROM:RATE"),
        (["--rate=10", "--batch=NOPE"], "Creditor COMPASS has no batch NOPE."),
    ],
)
def test_set_terms_refusals(compass: Creditor, args: list[str], message: str) -> None:
    error, printed = refused("set_commission_terms", "COMPASS", *args)

    assert message in error
    assert printed == {"status": "refused", "error": error}
    assert not CommissionTerms.objects.exists()


def test_set_terms_of_an_unknown_creditor(db: None) -> None:
    error, _ = refused("set_commission_terms", "NOBODY", "--rate=10")
    assert error == "No creditor with code NOBODY."


# pre_invoice


def test_create_gathers_the_period_and_prints_the_pages_totals(compass_batch: Batch) -> None:
    june = datetime.date(2025, 6, 9)
    commissioned(compass_batch, "A", "1234.56", "10.00", "123.46", paid_on=june)
    commissioned(compass_batch, "B", "98.32", "12.50", "12.29", paid_on=june)

    result = run(
        "pre_invoice", "create", "--creditor=compass", "--from=2025-06-01", "--to=2025-06-30"
    )

    pre_invoice = PreInvoice.objects.get()
    assert result == {
        "status": "created",
        "pre_invoice": pre_invoice.pk,
        "number": "",
        "creditor": "COMPASS",
        "period_start": "2025-06-01",
        "period_end": "2025-06-30",
        "state": "draft",
        "lines": 2,
        "collected": "1332.88",
        "commission": "135.75",
        "vat_rate": "22.00",
        "vat": "29.87",
        "total": "165.62",
    }
    assert pre_invoice.created_by is None
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, user=None).exists()


def test_create_with_nothing_to_gather_is_refused(compass_batch: Batch) -> None:
    error, printed = refused(
        "pre_invoice", "create", "--creditor=COMPASS", "--from=2025-06-01", "--to=2025-06-30"
    )

    assert "No commissioned payment of COMPASS" in error
    assert printed["status"] == "refused"
    assert not PreInvoice.objects.exists()


def test_create_with_a_bad_date_is_refused(compass: Creditor) -> None:
    error, _ = refused(
        "pre_invoice", "create", "--creditor=COMPASS", "--from=01/06/2025", "--to=2025-06-30"
    )
    assert error == "--from '01/06/2025' is not a date as YYYY-MM-DD."


def test_confirm_by_id_then_refused_as_locked(compass_pre_invoice: PreInvoice) -> None:
    result = run("pre_invoice", "confirm", str(compass_pre_invoice.pk))

    assert (result["status"], result["state"], result["total"]) == (
        "confirmed",
        "confirmed",
        "165.62",
    )
    assert result["number"].startswith("PF-")
    compass_pre_invoice.refresh_from_db()
    assert compass_pre_invoice.state == PreInvoiceState.CONFIRMED

    # By its number this time.
    error, _ = refused("pre_invoice", "confirm", result["number"])
    assert error == (
        f"Pre-invoice {result['number']} is confirmed: it and its payments can no longer change."
    )


def test_unknown_pre_invoice(db: None) -> None:
    error, _ = refused("pre_invoice", "confirm", "999999")
    assert error == "No pre-invoice 999999."


def test_export_xlsx_and_pdf(compass_pre_invoice: PreInvoice, tmp_path: Path) -> None:
    xlsx, pdf = tmp_path / "p.xlsx", tmp_path / "p.pdf"

    result = run(
        "pre_invoice", "export", str(compass_pre_invoice.pk), "--format=xlsx", "-o", str(xlsx)
    )
    run("pre_invoice", "export", str(compass_pre_invoice.pk), "--format=pdf", "-o", str(pdf))

    assert (result["status"], result["file"], result["bytes"]) == (
        "exported",
        str(xlsx),
        xlsx.stat().st_size,
    )
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    assert sheet.cell(row=4, column=1).value == "0012345678"
    assert pdf.read_bytes().startswith(b"%PDF")
    assert AuditEvent.objects.filter(action=AuditAction.VIEW, user=None).count() == 2


def test_export_fatturapa_invoices_the_payments(
    compass_pre_invoice: PreInvoice, back_office: User, tmp_path: Path
) -> None:
    xml = tmp_path / "invoice.xml"
    args = [
        "pre_invoice",
        "export",
        str(compass_pre_invoice.pk),
        "--format=fatturapa",
        "-o",
        str(xml),
    ]

    error, _ = refused(*args, *INVOICE_OPTIONS)
    assert error == "Only a confirmed pre-invoice can be invoiced."
    assert not xml.exists()

    confirm_pre_invoice(compass_pre_invoice, back_office)
    error, _ = refused(*args, *INVOICE_OPTIONS[:-1], "--recipient-code=0000000")
    assert error == "--pec: With recipient code 0000000, give the customer's PEC."

    run(*args, *INVOICE_OPTIONS)

    assert b"<ImportoTotaleDocumento>165.62</ImportoTotaleDocumento>" in xml.read_bytes()
    states = set(compass_pre_invoice.payments.values_list("state", flat=True))
    assert states == {PaymentState.INVOICED}


def test_export_fatturapa_again_needs_no_options(
    compass_pre_invoice: PreInvoice, back_office: User, tmp_path: Path
) -> None:
    """The invoice already issued and the creditor's address are known: the command repeats
    them, and refuses another number."""
    confirm_pre_invoice(compass_pre_invoice, back_office)
    first, again = tmp_path / "first.xml", tmp_path / "again.xml"
    common = ["pre_invoice", "export", str(compass_pre_invoice.pk), "--format=fatturapa", "-o"]
    run(*common, str(first), *INVOICE_OPTIONS)

    run(*common, str(again))
    error, _ = refused(*common, str(tmp_path / "other.xml"), "--invoice-number=2025/200")

    xml = again.read_bytes()
    for element in (
        b"<Numero>2025/118</Numero>",
        b"<Data>2025-07-10</Data>",
        b"<Indirizzo>Via Caldera 21</Indirizzo>",
        b"<CodiceDestinatario>ABC1234</CodiceDestinatario>",
    ):
        assert element in xml
    assert error.startswith("This pre-invoice was invoiced with invoice 2025/118 of 10/07/2025")


def test_a_recipient_code_or_a_pec_given_alone_replaces_both(
    compass_pre_invoice: PreInvoice, back_office: User, tmp_path: Path
) -> None:
    """How the exchange system reaches the customer is one choice: a code given alone does not
    pull in the PEC last used (which would make the pair invalid), nor a PEC the code."""
    confirm_pre_invoice(compass_pre_invoice, back_office)
    common = ["pre_invoice", "export", str(compass_pre_invoice.pk), "--format=fatturapa", "-o"]
    first, second, third = (tmp_path / f"{n}.xml" for n in ("first", "second", "third"))
    run(
        *common,
        str(first),
        *INVOICE_OPTIONS[:-1],
        "--recipient-code=0000000",
        "--pec=fatture@pec.compass.example",
    )

    run(*common, str(second), "--recipient-code=XYZ9876")
    run(*common, str(third), "--pec=amministrazione@pec.compass.example")

    assert b"<PECDestinatario>fatture@pec.compass.example</PECDestinatario>" in first.read_bytes()
    xml = second.read_bytes()
    assert b"<CodiceDestinatario>XYZ9876</CodiceDestinatario>" in xml
    assert b"PECDestinatario" not in xml
    xml = third.read_bytes()
    assert b"<CodiceDestinatario>0000000</CodiceDestinatario>" in xml
    assert b"<PECDestinatario>amministrazione@pec.compass.example</PECDestinatario>" in xml


def test_export_fatturapa_numbers_the_invoice_as_the_pre_invoice_by_default(
    compass_pre_invoice: PreInvoice, back_office: User, tmp_path: Path
) -> None:
    confirmed = confirm_pre_invoice(compass_pre_invoice, back_office)
    xml = tmp_path / "invoice.xml"
    common = ["pre_invoice", "export", str(confirmed.pk), "--format=fatturapa", "-o", str(xml)]

    error, _ = refused(*common, *INVOICE_OPTIONS[2:], "--postcode=2015")
    run(*common, *INVOICE_OPTIONS[2:])

    assert error == "--postcode: A postcode (CAP) has 5 digits."
    assert f"<Numero>{confirmed.number}</Numero>".encode() in xml.read_bytes()
