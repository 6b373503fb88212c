"""The pre-invoice page, its XLSX and its PDF show the same lines and totals."""

from __future__ import annotations

import io
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from accounts.models import AuditEvent, User
from billing.documents import (
    LINE_COLUMNS,
    pre_invoice_totals,
    totals_rows,
    vat_on,
    write_pdf,
)
from billing.models import PreInvoice
from billing.tests.conftest import commissioned
from billing.tests.factories import PreInvoiceFactory
from cases.models import Payment
from creditors.models import Batch

pytestmark = pytest.mark.django_db

EXPECTED = {
    "collected": Decimal("1382.88"),
    "commission": Decimal("135.75"),
    "vat": Decimal("29.87"),
    "total": Decimal("165.62"),
}


def detail_url(pre_invoice: PreInvoice) -> str:
    return reverse("billing:pre-invoice-detail", args=[pre_invoice.pk])


def test_vat_is_rounded_half_up_to_the_cent() -> None:
    assert vat_on(Decimal("0.75"), Decimal("22.00")) == Decimal("0.17")  # 0.165
    assert vat_on(Decimal("135.75"), Decimal("22.00")) == Decimal("29.87")  # 29.865
    assert vat_on(Decimal("100.00"), Decimal("22.00")) == Decimal("22.00")


def test_totals_add_up_the_lines(compass_pre_invoice: PreInvoice) -> None:
    totals = pre_invoice_totals(compass_pre_invoice)

    assert totals.lines == 3
    assert (totals.collected, totals.commission, totals.vat, totals.total) == tuple(
        EXPECTED.values()
    )


def test_page_shows_lines_and_totals(
    english: Client, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(back_office)

    response = english.get(detail_url(compass_pre_invoice))

    assert response.status_code == 200
    content = response.content.decode()
    for contract in ("0012345678", "0099", "0077"):
        assert contract in content
    assert 'data-testid="total-collected">€ 1,382.88<' in content
    assert 'data-testid="total-commission">€ 135.75<' in content
    assert 'data-testid="total-vat">€ 29.87<' in content
    assert 'data-testid="total-with-vat">€ 165.62<' in content


@pytest.mark.parametrize(
    "params",
    [
        # A page number out of range or not a number shows the nearest page.
        *({"page": page} for page in ("abc", "-1", "99999", "0")),
        # The page size is the page's own, never the address's.
        *({"per_page": size} for size in ("-1", "0", "1", "abc")),
    ],
)
def test_the_address_chooses_a_page_but_not_its_size(
    english: Client, back_office: User, compass_pre_invoice: PreInvoice, params: dict[str, str]
) -> None:
    english.force_login(back_office)

    response = english.get(detail_url(compass_pre_invoice), params)

    assert response.status_code == 200
    assert response.context["table"].paginator.per_page == 100
    assert len(response.context["table"].page.object_list) == 3


def test_xlsx_has_the_same_lines_and_totals(
    english: Client, operator: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(operator)

    response = english.get(reverse("billing:pre-invoice-xlsx", args=[compass_pre_invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [row for row in sheet.iter_rows(values_only=True) if any(v is not None for v in row)]
    header = rows.index(("Contract", "Debtor", "Paid on", "Amount", "Rate (%)", "Commission"))
    lines = rows[header + 1 : header + 4]
    assert sorted(line[0] for line in lines) == ["0012345678", "0077", "0099"]
    assert sum(Decimal(str(line[5])) for line in lines) == EXPECTED["commission"]
    # Each total in the column it adds up: the collected total under the amounts.
    totals = {
        row[0]: [(column, Decimal(str(v))) for column, v in enumerate(row[1:], 1) if v is not None]
        for row in rows[header + 4 :]
    }
    assert totals == {
        "Collected total": [(3, EXPECTED["collected"])],
        "Commission total": [(5, EXPECTED["commission"])],
        "VAT 22.00%": [(5, EXPECTED["vat"])],
        "Total with VAT": [(5, EXPECTED["total"])],
    }
    assert AuditEvent.objects.filter(summary="XLSX download", user=operator).count() == 1


def test_pdf_has_the_same_lines_and_totals(
    english: Client, operator: User, compass_pre_invoice: PreInvoice
) -> None:
    english.force_login(operator)

    response = english.get(reverse("billing:pre-invoice-pdf", args=[compass_pre_invoice.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    # Table cells come out one per line: compare with the whitespace collapsed.
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    for contract in ("0012345678", "0099", "0077"):
        assert contract in text
    assert "Collected total € 1,382.88" in text
    assert "Commission total € 135.75" in text
    assert "VAT 22.00% € 29.87" in text
    assert "Total with VAT € 165.62" in text


@pytest.mark.parametrize("language", ["it", "en"])
def test_pdf_headers_do_not_overlap_and_totals_line_up_with_the_commissions(
    compass_pre_invoice: PreInvoice, language: str
) -> None:
    with translation.override(language):
        pdf = write_pdf(compass_pre_invoice)
        headers = [str(column.header) for column in LINE_COLUMNS]
        total_label = str(totals_rows(pre_invoice_totals(compass_pre_invoice))[-1][0])
    # Every piece of text with where it starts and, by the font's metrics, where it ends.
    placed: list[tuple[str, float, float]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            x = cm[4] + tm[4] * cm[0]
            bold = "Bold" in str((font or {}).get("/BaseFont", ""))
            name = "Helvetica-Bold" if bold else "Helvetica"
            placed.append((text.strip(), x, x + stringWidth(text.strip(), name, size)))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)

    spans = [next((a, b) for t, a, b in placed if t == header) for header in headers]
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end < start, (headers, spans)
    # The grand total ends where the commissions end: the same right edge.
    label_at = next(i for i, (t, _, _) in enumerate(placed) if t == total_label)
    total_end = placed[label_at + 1][2]
    commission_end = max(b for t, a, b in placed if a > spans[-1][0] - 40 and t[-1].isdigit())
    assert abs(total_end - commission_end) < 1


def test_operator_of_another_creditor_gets_404_everywhere(
    client: Client, other_operator: User, compass_pre_invoice: PreInvoice
) -> None:
    client.force_login(other_operator)

    for name in ("pre-invoice-detail", "pre-invoice-xlsx", "pre-invoice-pdf", "invoice-export"):
        response = client.get(reverse(f"billing:{name}", args=[compass_pre_invoice.pk]))
        assert response.status_code == 404, name


@pytest.mark.parametrize("persona", ["operator", "team_leader", "back_office", "admin_user"])
def test_list_shows_what_the_persona_may_see(
    client: Client,
    compass_pre_invoice: PreInvoice,
    axactor: object,
    persona: str,
    request: pytest.FixtureRequest,
) -> None:
    other = PreInvoiceFactory(creditor=axactor)
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("billing:pre-invoice-list"))

    shown = {p.pk for p in response.context["table"].page.object_list.data}
    assert compass_pre_invoice.pk in shown
    assert (other.pk in shown) == (persona == "admin_user")


def test_list_rows_carry_their_sums(
    client: Client, back_office: User, compass_pre_invoice: PreInvoice
) -> None:
    client.force_login(back_office)

    response = client.get(reverse("billing:pre-invoice-list"), {"state": "draft"})

    (row,) = response.context["table"].page.object_list.data
    assert (row.line_count, row.collected, row.commission) == (
        3,
        EXPECTED["collected"],
        EXPECTED["commission"],
    )


def list_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("billing:pre-invoice-list")).status_code == 200
    return len(queries)


def test_list_query_count_does_not_grow_with_pre_invoices(
    client: Client, back_office: User, compass_batch: Batch
) -> None:
    client.force_login(back_office)
    PreInvoiceFactory(creditor=compass_batch.creditor)
    few = list_queries(client)

    for n in range(5):
        pre_invoice = PreInvoiceFactory(creditor=compass_batch.creditor)
        payment = commissioned(compass_batch, f"C{n}", "10.00", "10.00", "1.00")
        payment.pre_invoice = pre_invoice
        payment.save()

    assert list_queries(client) == few


def detail_queries(client: Client, pre_invoice: PreInvoice) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(detail_url(pre_invoice)).status_code == 200
    return len(queries)


def test_detail_query_count_does_not_grow_with_lines(
    client: Client, back_office: User, compass_pre_invoice: PreInvoice, compass_batch: Batch
) -> None:
    client.force_login(back_office)
    few = detail_queries(client, compass_pre_invoice)

    for n in range(5):
        payment = commissioned(compass_batch, f"M{n}", "10.00", "10.00", "1.00")
        Payment.objects.filter(pk=payment.pk).update(pre_invoice=compass_pre_invoice)

    assert detail_queries(client, compass_pre_invoice) == few
