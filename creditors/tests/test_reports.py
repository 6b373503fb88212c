"""The end-of-mandate report: every cell and total, its formats, who may download it."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from accounts.models import AuditAction, AuditEvent, User
from cases.models import PaymentState
from cases.tests.factories import CaseFactory, InstallmentFactory, NoteFactory, PaymentFactory
from creditors.models import Batch, BatchState, Creditor
from creditors.reports import write_end_of_mandate_xlsx
from creditors.services import return_batch

pytestmark = pytest.mark.django_db
# Spreadsheet dates have no time zone: openpyxl reads them back as naive datetimes.
JUNE_11 = datetime.datetime(2025, 6, 11)  # noqa: DTZ001
HEADER = [
    "Contract",
    "Creditor reference",
    "Debtor",
    "Tax code",
    "State",
    "Amount assigned",
    "Total requested",
    "Collected",
    "Reported, not yet collected",
    "Unpaid installments",
    "Last note",
]


def report_url(batch: Batch) -> str:
    return reverse("creditors:batch-report", args=[batch.pk])


def returned(batch: Batch) -> Batch:
    batch.state = BatchState.RETURNED
    batch.returned_on = datetime.date(2025, 9, 30)
    batch.save()
    return batch


def write_report(batch: Batch) -> Worksheet:
    stream = io.BytesIO()
    with translation.override("en"):
        write_end_of_mandate_xlsx(batch, stream)
    stream.seek(0)
    return load_workbook(stream).active


def values(sheet: Worksheet) -> list[list[Any]]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


@time_machine.travel(datetime.datetime(2025, 10, 15, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_report_has_one_row_per_case_and_the_totals(
    back_office: User, compass_batch: Batch
) -> None:
    return_batch(compass_batch, back_office, datetime.date(2025, 9, 30))

    sheet = write_report(compass_batch)

    assert sheet.title == "End of mandate"
    assert values(sheet) == [
        HEADER,
        [
            "0012345678",
            "REF-1",
            "Mario Rossi",
            "RSSMRA80A01H501U",
            "Returned to creditor",
            1349.66,
            255.16,
            50,
            0,
            2,
            JUNE_11,
        ],
        # No installments: the whole amount assigned is requested (docs/payments.md).
        ["0077", None, None, None, "Returned to creditor", 120, 120, 0, 0, 0, None],
        [
            "0099",
            None,
            "Luca Bianchi",
            "BNCLCU85M01F205P",
            "Closed",
            530.5,
            34.5,
            130.5,
            0,
            1,
            None,
        ],
        ["Total (3 cases)", None, None, None, None, 2000.16, 409.66, 180.5, 0, 3, None],
    ]


def test_report_totals_match_the_batch_figures(compass_batch: Batch) -> None:
    sheet = write_report(returned(compass_batch))

    totals = [cell.value for cell in sheet[sheet.max_row]]
    assert Decimal(str(totals[5])) == Decimal("2000.16")  # the batch's amount assigned
    assert Decimal(str(totals[7])) == Decimal("180.50")  # the batch's amount collected


def test_a_payment_only_reported_has_its_own_column(compass_batch: Batch) -> None:
    """Not collected yet, but already off the total requested: the report says where it is."""
    rossi = compass_batch.cases.get(contract_number="0012345678")
    PaymentFactory(case=rossi, amount=Decimal("7.00"), state=PaymentState.REPORTED)

    sheet = write_report(returned(compass_batch))

    row = [cell.value for cell in sheet[2]]
    assert (row[0], row[6], row[7], row[8]) == ("0012345678", 248.16, 50, 7)
    totals = [cell.value for cell in sheet[sheet.max_row]]
    assert (totals[7], totals[8]) == (180.5, 7)


def test_report_cells_are_typed_and_formatted(compass_batch: Batch) -> None:
    sheet = write_report(returned(compass_batch))

    assert all(cell.font.bold for cell in sheet[1])
    assert not any(cell.font.bold for cell in sheet[2])
    assert all(cell.font.bold for cell in sheet[sheet.max_row] if cell.value is not None)
    rossi = sheet[2]
    for money in rossi[5:9]:
        assert (money.data_type, money.number_format) == ("n", "#,##0.00")
    assert rossi[9].data_type == "n"
    assert rossi[10].is_date
    assert rossi[10].number_format == "DD/MM/YYYY"
    assert (rossi[0].data_type, rossi[3].data_type) == ("s", "s")
    assert sheet.freeze_panes == "A2"


def test_text_from_the_creditor_never_becomes_a_formula(compass: Creditor) -> None:
    batch = returned(
        Batch.objects.create(creditor=compass, code="F", assigned_on=datetime.date(2025, 3, 1))
    )
    CaseFactory(
        creditor=compass,
        batch=batch,
        contract_number="=1+1",
        main_party__debtor__name='=HYPERLINK("http://example.com","x")',
    )

    row = write_report(batch)[2]

    assert (row[0].value, row[0].data_type) == ("=1+1", "s")
    assert (row[2].value, row[2].data_type) == ('=HYPERLINK("http://example.com","x")', "s")


def test_report_of_a_batch_without_cases_has_a_zero_total(compass: Creditor) -> None:
    batch = returned(
        Batch.objects.create(creditor=compass, code="E", assigned_on=datetime.date(2025, 3, 1))
    )

    assert values(write_report(batch)) == [
        HEADER,
        ["Total (0 cases)", None, None, None, None, 0, 0, 0, 0, 0, None],
    ]


def add_cases(batch: Batch, count: int) -> None:
    for case in CaseFactory.create_batch(count, creditor=batch.creditor, batch=batch):
        InstallmentFactory(case=case, status="unpaid")
        PaymentFactory(case=case, state=PaymentState.COLLECTED)
        NoteFactory(case=case)


def count_report_queries(batch: Batch) -> int:
    with CaptureQueriesContext(connection) as queries:
        write_end_of_mandate_xlsx(batch, io.BytesIO())
    return len(queries)


def test_report_query_count_does_not_grow_with_the_cases(compass: Creditor) -> None:
    batch = returned(
        Batch.objects.create(creditor=compass, code="Q", assigned_on=datetime.date(2025, 3, 1))
    )
    add_cases(batch, 2)
    with_two = count_report_queries(batch)

    add_cases(batch, 18)

    assert count_report_queries(batch) == with_two == 1


# The download.


def test_anonymous_is_sent_to_login(client: Client, compass_batch: Batch) -> None:
    url = report_url(returned(compass_batch))

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={url}"


@pytest.mark.parametrize("persona", ["operator", "back_office", "admin_user"])
def test_staff_of_the_creditor_download_the_report(
    english: Client, compass_batch: Batch, persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    english.force_login(user)

    response = english.get(report_url(returned(compass_batch)))

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"] == (
        'attachment; filename="fine-mandato-COMPASS-LOTTO-2025-03.xlsx"'
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [cell.value for cell in sheet[1]] == HEADER
    assert [cell.value for cell in sheet[5]][:1] == ["Total (3 cases)"]
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_type, event.object_id) == (
        user,
        AuditAction.VIEW,
        "creditors.batch",
        str(compass_batch.pk),
    )


def test_operator_of_another_creditor_gets_not_found(
    client: Client, other_operator: User, compass_batch: Batch
) -> None:
    client.force_login(other_operator)

    assert client.get(report_url(returned(compass_batch))).status_code == 404
    assert not AuditEvent.objects.exists()


def test_an_open_batch_has_no_report_yet(
    client: Client, back_office: User, compass_batch: Batch
) -> None:
    client.force_login(back_office)

    assert client.get(report_url(compass_batch)).status_code == 404
    assert not AuditEvent.objects.exists()


def test_a_closed_batch_has_its_report(
    client: Client, back_office: User, compass_batch: Batch
) -> None:
    compass_batch.state = BatchState.CLOSED
    compass_batch.save()
    client.force_login(back_office)

    assert client.get(report_url(compass_batch)).status_code == 200
