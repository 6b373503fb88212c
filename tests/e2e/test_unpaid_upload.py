"""A back-office user loads a portfolio, then an unpaid-installments file, in a real browser."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from django.utils.translation import gettext, override
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from accounts.models import User
from cases.models import Case, InstallmentStatus
from creditors.models import Creditor
from imports.models import ImportKind, Layout, RowOutcome
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes

if TYPE_CHECKING:
    from tests.e2e.conftest import ThreadWorker

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("presets")]

PASSWORD = "incasso-test-pw"  # the personas' password in the root conftest
# Processing a few rows takes well under a second; the rest is the page polling every second.
JOB_TIMEOUT_MS = 15_000

AFFIDO_ROWS = (
    "CMP-7;0010007000;FORTÌ NICOLÒ;FRTNCL80A01H501U;VIA ROMA 1;03020;TORRICE;FR;;"
    "3331234567;;PRESTITO PERSONALE;1;15/05/2025;489,17;SDD",
    "CMP-7;0010007000;FORTÌ NICOLÒ;FRTNCL80A01H501U;VIA ROMA 1;03020;TORRICE;FR;;"
    "3331234567;;PRESTITO PERSONALE;2;15/06/2025;489,17;SDD",
    "CMP-7;0010019418;SANGUINETI TEMISTOCLE;SNGTST56P19D292A;VIA PO 3;10124;TORINO;TO;;;;"
    "CARTA REVOLVING;1;15/05/2025;250,00;BOL",
    "CMP-7;0010023311;BRAMBILLA GIUSEPPINA;BRMGPP62M45F205Z;VIA MANZONI 8;20121;MILANO;MI;;;;"
    "PRESTITO AUTO;1;01/06/2025;1.120,40;SDD",
)
INSOLUTI_ROWS = (
    "A0417;0010007000;FORTÌ NICOLÒ;;1;15/05/2025;489,17;SDD;24/05/2025;5,16",  # found
    "A0417;0010019418;SANGUINETI TEMISTOCLE;;1;15/05/2025;255,00;BOL;24/05/2025;5,16",  # amount
    "A0417;0099999999;ROSSI MARIO;;1;15/05/2025;100,00;SDD;24/05/2025;5,16",  # unknown
)
FOUND_CONTRACT, MISMATCH_CONTRACT, UNKNOWN_CONTRACT = "0010007000", "0010019418", "0099999999"
NOTE = "Rata 1 scad. 15/05/2025 insoluta: € 489,17 + spese di protesto € 5,16"


def italian(message: str) -> str:
    """What the Italian interface shows for an English source text (itself if untranslated)."""
    with override("it"):
        return gettext(message)


def log_in(page: Page, user: User) -> None:
    page.goto(reverse("account_login"))
    form = page.locator("form:has(input[name='login'])")
    form.locator("input[name='login']").fill(user.username)
    form.locator("input[name='password']").fill(PASSWORD)
    form.locator("button[type='submit']").click()
    page.wait_for_url(re.compile(re.escape(reverse("cases:list")) + "$"))


def upload(page: Page, kind: ImportKind, creditor: Creditor, layout: str, file: Path) -> None:
    """Open the upload page from the menu, fill the form as a user would and submit it."""
    url = reverse("imports:upload", args=[kind.value])
    page.locator("[data-testid=upload-menu]").click()
    page.locator(f"nav a[href='{url}']").click()
    page.wait_for_url(re.compile(re.escape(url) + "$"))
    with override("it"):
        expect(page.locator("main h1")).to_have_text(str(kind.label))

    # Choosing the creditor replaces the layout list with the layouts it may use: mark the old
    # list, and pick the layout only in the list that replaced it.
    page.locator("#id_layout").evaluate("select => { select.dataset.stale = 'yes' }")
    page.locator("#id_creditor").select_option(str(creditor.pk))
    layouts = page.locator("#id_layout:not([data-stale])")
    expect(layouts).to_be_attached()
    layouts.select_option(str(Layout.objects.get(slug=layout).pk))
    page.locator("#id_file").set_input_files(file)
    page.locator("main form button[type='submit']").click()
    page.wait_for_url(re.compile(r"/imports/jobs/\d+/$"))


def process_queued_job(page: Page, task_worker: ThreadWorker) -> None:
    """The job page shows the file queued; once a worker runs, the page reloads with results."""
    expect(page.get_by_role("progressbar")).to_be_visible()
    expect(page.locator("#job-progress[hx-get]")).to_be_visible()

    finished = page.expect_response(
        lambda response: (
            response.url.endswith("/progress/") and response.headers.get("hx-refresh") == "true"
        ),
        timeout=JOB_TIMEOUT_MS,
    )
    with finished:
        task_worker.start()
    expect(page.locator(".summary-cards")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_role("progressbar")).to_have_count(0)


def outcome_count(page: Page, outcome: RowOutcome) -> str:
    return page.locator(f".outcome-pills a[href='?outcome={outcome.value}'] .badge").inner_text()


def test_unpaid_file_marks_the_found_installment_and_explains_the_others(
    page: Page,
    back_office: User,
    compass: Creditor,
    task_worker: ThreadWorker,
    tmp_path: Path,
) -> None:
    # GIVEN a back-office user of Compass, logged in through the login form, in Italian
    log_in(page, back_office)
    expect(page.locator("html")).to_have_attribute("lang", "it")

    # WHEN they upload Compass's portfolio, a Windows-1252 file with ";" and CRLF
    affido = tmp_path / "affido_maggio.csv"
    affido.write_bytes(csv_bytes(AFFIDO_HEADER, *AFFIDO_ROWS))
    upload(page, ImportKind.ACQUISITION, compass, "compass-affido", affido)
    process_queued_job(page, task_worker)
    task_worker.stop()

    # THEN its three contracts become three cases
    expect(page.locator(".summary-cards a[href='?outcome=created']")).to_have_text("3")
    assert outcome_count(page, RowOutcome.CREATED) == "3"

    # WHEN they upload the unpaid installments: one found, one amount differing, one unknown
    insoluti = tmp_path / "insoluti_maggio.csv"
    insoluti.write_bytes(csv_bytes(INSOLUTI_HEADER, *INSOLUTI_ROWS))
    upload(page, ImportKind.UNPAID, compass, "compass-insoluti", insoluti)
    process_queued_job(page, task_worker)

    # THEN the results count each outcome and give each row's reason
    for outcome in (
        RowOutcome.FOUND,
        RowOutcome.AMOUNT_MISMATCH,
        RowOutcome.CONTRACT_NOT_FOUND,
    ):
        expect(page.locator(f".summary-cards a[href='?outcome={outcome.value}']")).to_have_text("1")
        assert outcome_count(page, outcome) == "1"
    rows = page.locator("table.import-rows tbody tr")
    expect(rows).to_have_count(3)
    reasons = {
        FOUND_CONTRACT: italian("Installment %(number)s of the case") % {"number": 1},
        MISMATCH_CONTRACT: italian("Amount differs from installment %(number)s (%(value)s)")
        % {"number": 1, "value": "€ 250,00"},
        UNKNOWN_CONTRACT: italian("No open case of this creditor has contract %(contract)s.")
        % {"contract": UNKNOWN_CONTRACT},
    }
    for contract, reason in reasons.items():
        expect(rows.filter(has_text=contract)).to_contain_text(reason)
    page.screenshot(path=tmp_path / "results.png", full_page=True)
    shutil.copy(tmp_path / "results.png", "/tmp/e2e-results.png")  # noqa: S108 -- for a human

    # AND the report downloads as a workbook with every row
    with page.expect_download() as download_info:
        page.locator("a[href$='/download.xlsx']").click()
    download = download_info.value
    assert re.fullmatch(r"insoluti-job-\d+\.xlsx", download.suggested_filename)
    report = tmp_path / download.suggested_filename
    download.save_as(report)
    sheet = load_workbook(report, read_only=True).worksheets[0]
    contracts = {cell for row in sheet.iter_rows(values_only=True) for cell in row}
    assert {FOUND_CONTRACT, MISMATCH_CONTRACT, UNKNOWN_CONTRACT} <= contracts

    # WHEN they open the case of the row found
    case = Case.objects.get(contract_number=FOUND_CONTRACT)
    rows.filter(has_text=FOUND_CONTRACT).get_by_role("link", name=FOUND_CONTRACT).click()
    page.wait_for_url(re.compile(re.escape(reverse("cases:detail", args=[case.pk])) + "$"))

    # THEN the accented debtor, the system note and the unpaid installment are there
    expect(page.get_by_text("FORTÌ NICOLÒ", exact=True)).to_be_visible()
    expect(page.get_by_text(NOTE, exact=True)).to_be_visible()
    unpaid = page.locator("tbody tr.table-danger")
    expect(unpaid).to_have_count(1)
    with override("it"):
        expect(unpaid.locator(".badge")).to_have_text(str(InstallmentStatus.UNPAID.label))
    for value in ("15/05/2025", "€ 489,17", "€ 5,16", "24/05/2025"):
        expect(unpaid).to_contain_text(value)
    page.screenshot(path=tmp_path / "case.png", full_page=True)
    shutil.copy(tmp_path / "case.png", "/tmp/e2e-case.png")  # noqa: S108 -- for a human

    # WHEN they record the debtor's payment of that installment, typed the Italian way
    form = page.locator(f"form[action='{reverse('cases:payment-record', args=[case.pk])}']")
    form.locator("input[name='amount']").fill("489,17")
    form.get_by_role("button").click()

    # THEN it settles the unpaid installment, and only its protest fees are still requested
    expect(page.get_by_test_id("total-requested")).to_have_text("€ 5,16")
    payment = case.payments.get()
    assert payment.amount == Decimal("489.17")
    assert [a.installment.number for a in payment.allocations.all()] == [1]
