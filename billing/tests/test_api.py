"""The billing API: scoped like the pages, changes for back office and administrators, the pages'
checks and figures, and refusals with a status and a reason."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import AuditAction, AuditEvent, User
from billing.models import CommissionBasis, CommissionTerms, PreInvoice, PreInvoiceState
from billing.services import confirm_pre_invoice
from billing.tests.conftest import commissioned
from billing.tests.factories import CommissionTermsFactory, CommissionTierFactory
from cases.models import Payment, PaymentState
from cases.tests.factories import BatchFactory
from creditors.models import Batch, Creditor

pytestmark = pytest.mark.django_db

TERMS_URL = reverse("api:commission-terms-list")
PRE_INVOICES_URL = reverse("api:pre-invoice-list")
OVERVIEW_URL = reverse("api:commission-overview-list")
INVOICE = {
    "number": "2025/118",
    "date": "2025-07-10",
    "street": "Via Caldera 21",
    "postcode": "20153",
    "city": "Milano",
    "province": "MI",
    "recipient_code": "ABC1234",
}


def url(name: str, pre_invoice: PreInvoice) -> str:
    return reverse(f"api:pre-invoice-{name}", args=[pre_invoice.pk])


def terms_url(terms: CommissionTerms) -> str:
    return reverse("api:commission-terms-detail", args=[terms.pk])


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(path, body or {}, content_type="application/json")


# Pre-invoices.


def test_list_shows_the_pre_invoices_of_visible_creditors_with_their_sums(
    english: Client, operator: User, other_operator: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(operator)
    rows = english.get(PRE_INVOICES_URL).json()["results"]
    assert [(r["id"], r["creditor"], r["state"]) for r in rows] == [
        (compass_pre_invoice.pk, "COMPASS", "draft")
    ]
    assert (rows[0]["line_count"], rows[0]["collected"], rows[0]["commission"]) == (
        3,
        "1382.88",
        "135.75",
    )

    english.force_login(other_operator)
    assert english.get(PRE_INVOICES_URL).json()["results"] == []


def test_list_filters_by_creditor_and_state(
    english: Client, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(back_office)
    creditor = compass_pre_invoice.creditor_id

    def ids(**params: Any) -> list[int]:
        return [r["id"] for r in english.get(PRE_INVOICES_URL, params).json()["results"]]

    assert ids(creditor=creditor, state="draft") == [compass_pre_invoice.pk]
    assert ids(state="confirmed") == []
    confirm_pre_invoice(compass_pre_invoice, back_office)
    assert ids(state="confirmed") == [compass_pre_invoice.pk]


@pytest.mark.parametrize(
    ("method", "name"),
    [("get", "detail"), ("get", "xlsx"), ("get", "pdf"), ("post", "confirm")],
)
def test_another_creditors_operator_does_not_find_the_pre_invoice(
    english: Client,
    other_operator: User,
    compass_pre_invoice: PreInvoice,
    method: str,
    name: str,
) -> None:
    english.force_login(other_operator)
    response = getattr(english, method)(url(name, compass_pre_invoice))
    assert response.status_code == 404


def test_detail_has_the_lines_and_the_totals_of_the_page(
    english: Client, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(back_office)
    page = english.get(reverse("billing:pre-invoice-detail", args=[compass_pre_invoice.pk]))
    body = english.get(url("detail", compass_pre_invoice)).json()

    totals = page.context["totals"]
    assert body["totals"] == {
        "lines": totals.lines,
        "collected": str(totals.collected),
        "commission": str(totals.commission),
        "vat_rate": str(totals.vat_rate),
        "vat": str(totals.vat),
        "total": str(totals.total),
    }
    assert body["totals"]["vat"] == "29.87"  # half-up on 29.865, as the page shows it
    assert [(line["contract_number"], line["commission"]) for line in body["lines"]] == [
        (p.case.contract_number, str(p.commission))
        for p in Payment.objects.filter(pre_invoice=compass_pre_invoice).order_by(
            "paid_on", "case__contract_number", "pk"
        )
    ]


def test_create_gathers_the_commissioned_payments_of_the_period(
    english: Client, back_office: User, compass_batch: Batch
) -> None:
    june = commissioned(
        compass_batch, "A", "200.00", "10.00", "20.00", paid_on=datetime.date(2025, 6, 9)
    )
    english.force_login(back_office)

    period = {"creditor": "COMPASS", "period_start": "2025-06-01", "period_end": "2025-06-30"}
    response = post(english, PRE_INVOICES_URL, period)

    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "draft"
    assert body["totals"]["commission"] == "20.00"
    assert [line["payment"] for line in body["lines"]] == [june.pk]
    assert response["Location"].endswith(reverse("api:pre-invoice-detail", args=[body["id"]]))
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, user=back_office).exists()

    again = post(english, PRE_INVOICES_URL, period)
    assert again.status_code == 409
    assert again.json()["code"] == "refused"
    assert "No commissioned payment of COMPASS" in again.json()["detail"]
    assert PreInvoice.objects.count() == 1


def test_create_refuses_bad_fields_with_the_pages_messages(
    english: Client, back_office: User, axactor: Creditor
) -> None:
    english.force_login(back_office)

    backwards = {"creditor": "COMPASS", "period_start": "2025-06-30", "period_end": "2025-06-01"}
    response = post(english, PRE_INVOICES_URL, backwards)
    assert response.status_code == 400
    assert response.json() == {"period_end": ["The period ends before it starts."]}

    # Axactor is not the back office's creditor: not one it may choose.
    other = {"creditor": "AXACTOR", "period_start": "2025-06-01", "period_end": "2025-06-30"}
    response = post(english, PRE_INVOICES_URL, other)
    assert response.status_code == 400
    assert list(response.json()) == ["creditor"]
    assert PreInvoice.objects.count() == 0


def test_operator_may_not_create_or_confirm(
    english: Client, operator: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(operator)
    period = {"creditor": "COMPASS", "period_start": "2025-06-01", "period_end": "2025-06-30"}

    assert post(english, PRE_INVOICES_URL, period).status_code == 403
    assert post(english, url("confirm", compass_pre_invoice)).status_code == 403
    compass_pre_invoice.refresh_from_db()
    assert compass_pre_invoice.state == PreInvoiceState.DRAFT


def test_confirm_numbers_and_locks_the_pre_invoice(
    english: Client, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(back_office)

    response = post(english, url("confirm", compass_pre_invoice))

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "confirmed"
    assert body["number"].startswith("PF-")
    assert body["confirmed_by"] == back_office.username

    again = post(english, url("confirm", compass_pre_invoice))
    assert again.status_code == 409
    assert again.json() == {
        "detail": f"Pre-invoice {body['number']} is confirmed: it and its payments can no "
        "longer change.",
        "code": "locked",
    }


def test_downloads_are_the_pages_documents_and_audited(
    english: Client, operator: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(operator)

    xlsx = english.get(url("xlsx", compass_pre_invoice))
    pdf = english.get(url("pdf", compass_pre_invoice))

    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content))).active
    assert sheet is not None
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert Decimal("135.75") in values or 135.75 in values
    assert pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    summaries = set(
        AuditEvent.objects.filter(action=AuditAction.VIEW, user=operator).values_list(
            "summary", flat=True
        )
    )
    assert summaries == {"XLSX download", "PDF download"}


def test_fatturapa_export_invoices_the_payments(
    english: Client, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(back_office)
    draft = post(english, url("fatturapa", compass_pre_invoice), INVOICE)
    assert draft.status_code == 409
    assert draft.json()["detail"] == "Only a confirmed pre-invoice can be invoiced."

    confirm_pre_invoice(compass_pre_invoice, back_office)
    bad = post(english, url("fatturapa", compass_pre_invoice), {**INVOICE, "postcode": "201"})
    assert bad.status_code == 400
    assert bad.json() == {"postcode": ["A postcode (CAP) has 5 digits."]}

    response = post(english, url("fatturapa", compass_pre_invoice), INVOICE)
    assert response.status_code == 200
    assert b"<ImportoTotaleDocumento>165.62</ImportoTotaleDocumento>" in b"".join(
        response.streaming_content
    )
    states = set(compass_pre_invoice.payments.values_list("state", flat=True))
    assert states == {PaymentState.INVOICED}


# Commission terms.


def test_terms_are_listed_for_visible_creditors_only(
    english: Client, operator: User, compass: Creditor, axactor: Creditor
) -> None:
    mine = CommissionTermsFactory(creditor=compass, rate=Decimal("12.50"))
    theirs = CommissionTermsFactory(creditor=axactor)
    english.force_login(operator)

    rows = english.get(TERMS_URL).json()["results"]

    assert [(r["id"], r["creditor"], r["batch"], r["rate"]) for r in rows] == [
        (mine.pk, "COMPASS", None, "12.50")
    ]
    assert english.get(terms_url(theirs)).status_code == 404


def test_back_office_sets_a_batchs_tiered_terms_audited(
    english: Client, back_office: User, compass: Creditor
) -> None:
    BatchFactory(creditor=compass, code="LOTTO-7")
    english.force_login(back_office)
    body = {
        "creditor": "COMPASS",
        "batch": "LOTTO-7",
        "basis": "case_age",
        "rate": "10",
        "cap": "500.00",
        "tiers": [{"threshold": "180", "rate": "20"}, {"threshold": "90", "rate": "15"}],
    }

    response = post(english, TERMS_URL, body)

    assert response.status_code == 201, response.json()
    saved = response.json()
    assert (saved["batch"], saved["basis"], saved["rate"], saved["cap"]) == (
        "LOTTO-7",
        "case_age",
        "10.00",
        "500.00",
    )
    assert saved["tiers"] == [
        {"threshold": "90.00", "rate": "15.00"},
        {"threshold": "180.00", "rate": "20.00"},
    ]
    event = AuditEvent.objects.get(action=AuditAction.CREATE, user=back_office)
    assert event.after["tiers"] == [["90.00", "15.00"], ["180.00", "20.00"]]

    again = post(english, TERMS_URL, body)
    assert again.status_code == 409
    assert again.json()["code"] == "exists"


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"rate": "150"}, {"rate": ["Ensure this value is less than or equal to 100."]}),
        (
            {"basis": "recovered", "tiers": []},
            {"tiers": ["This basis needs at least one tier (from, rate)."]},
        ),
        (
            {"tiers": [{"threshold": "90", "rate": "15"}]},
            {"tiers": ["One rate has no tiers: remove them, or choose a tiered basis."]},
        ),
        (
            {
                "basis": "case_age",
                "tiers": [{"threshold": "90", "rate": "15"}, {"threshold": "90", "rate": "20"}],
            },
            {"tiers": ["Each threshold may appear only once."]},
        ),
        (
            {
                "basis": "case_age",
                "tiers": [{"threshold": "90", "rate": "15"}, {"threshold": "180", "rate": "101"}],
            },
            {"tiers": [{}, {"rate": ["Ensure this value is less than or equal to 100."]}]},
        ),
        ({"cap": "-1"}, {"cap": ["Ensure this value is greater than or equal to 0."]}),
    ],
)
def test_terms_are_checked_as_on_the_page(
    english: Client,
    back_office: User,
    compass: Creditor,
    change: dict[str, Any],
    errors: dict[str, Any],
) -> None:
    english.force_login(back_office)
    body = {"creditor": "COMPASS", "basis": "flat", "rate": "10", **change}

    response = post(english, TERMS_URL, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert not CommissionTerms.objects.exists()


def test_patch_keeps_what_is_left_out_and_put_replaces_the_tiers(
    english: Client, back_office: User, compass: Creditor
) -> None:
    terms = CommissionTermsFactory(creditor=compass, basis=CommissionBasis.CASE_AGE)
    CommissionTierFactory(terms=terms, threshold=Decimal(90), rate=Decimal(15))
    english.force_login(back_office)

    patched = english.patch(terms_url(terms), {"rate": "11"}, content_type="application/json")
    assert patched.status_code == 200, patched.json()
    assert (patched.json()["rate"], patched.json()["tiers"]) == (
        "11.00",
        [{"threshold": "90.00", "rate": "15.00"}],
    )

    replaced = english.put(
        terms_url(terms),
        {"basis": "recovered", "rate": "9", "tiers": [{"threshold": "1000", "rate": "12"}]},
        content_type="application/json",
    )
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json()["tiers"] == [{"threshold": "1000.00", "rate": "12.00"}]
    assert replaced.json()["cap"] is None
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, user=back_office).count() == 2


def test_operator_may_not_set_terms(english: Client, operator: User, compass: Creditor) -> None:
    terms = CommissionTermsFactory(creditor=compass)
    english.force_login(operator)

    created = post(english, TERMS_URL, {"creditor": "COMPASS", "basis": "flat", "rate": "5"})
    patched = english.patch(terms_url(terms), {"rate": "1"}, content_type="application/json")

    assert (created.status_code, patched.status_code) == (403, 403)
    terms.refresh_from_db()
    assert terms.rate == Decimal("10.00")


# Commission overview.


def test_overview_by_month_creditor_and_batch(
    english: Client,
    operator: User,
    other_operator: User,
    compass_batch: Batch,
) -> None:
    commissioned(compass_batch, "A", "100.00", "10.00", "10.00", paid_on=datetime.date(2025, 6, 9))
    commissioned(compass_batch, "B", "50.00", "10.00", "5.00", paid_on=datetime.date(2025, 6, 20))
    commissioned(compass_batch, "C", "80.00", "10.00", "8.00", paid_on=datetime.date(2025, 7, 2))
    english.force_login(operator)

    body = english.get(OVERVIEW_URL).json()

    assert body["rows"] == [
        {
            "month": "2025-07-01",
            "creditor": "COMPASS",
            "batch": "LOTTO-2025-03",
            "collected": "80.00",
            "commission": "8.00",
        },
        {
            "month": "2025-06-01",
            "creditor": "COMPASS",
            "batch": "LOTTO-2025-03",
            "collected": "150.00",
            "commission": "15.00",
        },
    ]
    assert (body["total_collected"], body["total_commission"]) == ("230.00", "23.00")
    june = english.get(OVERVIEW_URL, {"paid_to": "2025-06-30"}).json()
    assert june["total_commission"] == "15.00"

    english.force_login(other_operator)
    assert english.get(OVERVIEW_URL).json()["rows"] == []
