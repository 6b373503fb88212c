"""A back-office user builds the layout of a creditor no preset knows, then loads its file."""

from __future__ import annotations

import re
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from accounts.models import User
from cases.models import Case, PartyRole
from creditors.models import Creditor
from imports.models import ImportKind, Layout, RowOutcome
from tests.e2e.test_unpaid_upload import italian, log_in, outcome_count, process_queued_job, upload

if TYPE_CHECKING:
    from tests.e2e.conftest import ThreadWorker

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("presets")]

TITLE = "Banca Esempio S.p.A. - Affido pratiche al 01/12/2026"
HEADERS = [
    "Pratica n.",
    "Intestatario",
    "C.F.",
    "Via",
    "C.A.P.",
    "Località",
    "Prov.",
    "Rata",
    "Scadenza",
    "Importo rata",
    "Canale",
]
CHANNELS = {"R": "SDD", "P": "BOL", "B": "BON"}
# (contract, name, tax code, street, postcode, city, province, [(rata, due, amount, channel)])
CASES = [
    (
        "BE-0001",
        "ROSSI MARIO",
        "RSSMRA80A01H501U",
        "VIA ROMA 1",
        "00184",
        "ROMA",
        "RM",
        [(1, "15/01/2027", "150,00", "R"), (2, "15/02/2027", "150,00", "R")],
    ),
    (
        "BE-0002",
        "BIANCHI LUCIA",
        "BNCLCU75M41F205R",
        "VIA TORINO 5",
        "20123",
        "MILANO",
        "MI",
        [(1, "31/01/2027", "1.234,56", "P")],
    ),
    (
        # A tax code with a wrong check character: kept, with a warning.
        "BE-0003",
        "VERDI ANNA",
        "VRDNNA62S50L219Y",
        "CORSO FRANCIA 10",
        "10138",
        "TORINO",
        "TO",
        [(1, "28/02/2027", "75,50", "B"), (2, "31/03/2027", "75,50", "B")],
    ),
]


def banca_esempio_file(path: Path) -> Path:
    """The creditor's export: a title line above the header, ";", Windows-1252, CRLF."""
    lines = [TITLE, ";".join(HEADERS)]
    for contract, name, tax_code, street, postcode, city, province, installments in CASES:
        for number, due, amount, channel in installments:
            fields = [contract, name, tax_code, street, postcode, city, province]
            lines.append(";".join([*fields, str(number), due, amount, channel]))
    path.write_bytes("\r\n".join([*lines, ""]).encode("cp1252"))
    return path


def italian_amount(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", "."))


def italian_date(text: str) -> date:
    day, month, year = map(int, text.split("/"))
    return date(year, month, day)


def field_select(page: Page, header: str) -> str:
    return f"#mapping-grid tr[data-column='{header}'] select[name^='field_']"


def test_back_office_builds_a_layout_and_loads_the_creditors_file(
    page: Page,
    back_office: User,
    compass: Creditor,
    task_worker: ThreadWorker,
    tmp_path: Path,
) -> None:
    sample = banca_esempio_file(tmp_path / "banca_esempio_affido.csv")
    log_in(page, back_office)

    # WHEN they open the layouts from the menu and start a new one with the creditor's sample
    page.locator(f"nav a[href='{reverse('imports:layout-list')}']").click()
    page.locator(f"main a[href='{reverse('imports:layout-sample')}']").click()
    form = page.locator("#sample-form")
    form.locator("#id_file").set_input_files(sample)
    form.locator("#id_kind").select_option(ImportKind.ACQUISITION.value)
    form.locator("#id_creditor").select_option(compass.code)
    form.locator("#id_name").fill("Banca Esempio — affido")
    form.locator("button[type='submit']").click()
    page.wait_for_url(re.compile(r"/imports/layouts/new/[0-9a-f]{32}/$"))

    # THEN the format is detected: Windows-1252, ";", the header on row 2 below the title
    detected = page.locator("#detected-format")
    expect(detected).to_contain_text("cp1252")
    expect(detected).to_contain_text(italian("; (semicolon)"))
    expect(detected.locator("dd").nth(3)).to_have_text("2")
    expect(page.locator("#mapping-grid tbody tr")).to_have_count(len(HEADERS))

    # AND every column but the channel gets the right field suggested
    suggested = {
        "Pratica n.": "contract_number",
        "Intestatario": "debtor_name",
        "C.F.": "tax_code",
        "C.A.P.": "postcode",
        "Località": "city",
        "Rata": "installment_number",
        "Scadenza": "due_date",
        "Importo rata": "amount",
    }
    for header, field in suggested.items():
        expect(page.locator(field_select(page, header))).to_have_value(field)
    expect(page.locator(field_select(page, "Canale"))).not_to_have_value("payment_method")
    expect(page.locator("#preview-rows tbody tr.table-danger").first).to_be_visible()

    # WHEN they correct the channel's field: the value map appears with the file's codes
    page.locator(field_select(page, "Canale")).select_option("payment_method")
    value_map = page.locator("#value-maps table[data-value-map='payment_method']")
    expect(value_map).to_be_visible()
    codes = value_map.locator("input[name^='vm-payment_method-code-']")
    expect(codes.nth(0)).to_have_value("R")
    expect(codes.nth(1)).to_have_value("P")
    expect(codes.nth(2)).to_have_value("B")
    expect(page.locator("#live-preview")).to_contain_text("'R'")

    # AND they map each code to ours and keep rows with a wrong tax code, with a warning
    for number in range(3):
        code = codes.nth(number).input_value()
        with page.expect_response(lambda r: r.url.split("?")[0].endswith("/preview/")):
            value_map.locator(f"select[name='vm-payment_method-ours-{number}']").select_option(
                CHANNELS[code]
            )
    with page.expect_response(lambda r: r.url.split("?")[0].endswith("/preview/")):
        page.locator("#mapping-grid tr[data-column='C.F.'] select[name^='check_']").select_option(
            "warn"
        )

    # THEN the live preview reads every row: no errors, the channels as our methods, one warning
    rows = page.locator("#preview-rows tbody tr[data-row]")
    expect(rows).to_have_count(sum(len(case[-1]) for case in CASES))
    expect(page.locator("#preview-rows tr.table-danger")).to_have_count(0)
    expect(page.locator("#layout-problems")).to_have_count(0)
    expect(rows.nth(0)).to_contain_text("SDD")
    expect(rows.nth(2)).to_contain_text("BOL")
    expect(rows.nth(3)).to_contain_text("BON")
    expect(rows.nth(3)).to_have_class(re.compile("table-warning"))
    expect(page.locator("#preview-rows .row-message").first).to_contain_text("VRDNNA62S50L219Y")
    page.screenshot(path=tmp_path / "layout-editor.png", full_page=True)
    shutil.copy(tmp_path / "layout-editor.png", "/tmp/e2e-layout-editor.png")  # noqa: S108 -- for a human

    # WHEN they save
    page.locator("#save-layout").click()
    page.wait_for_url(re.compile(r"/imports/layouts/\d+/$"))

    # THEN the layout holds the corrected mapping, the codes and the policy
    layout = Layout.objects.get(name="Banca Esempio — affido")
    assert layout.creditor == compass
    assert {name: column["header"] for name, column in layout.columns.items()} == {
        **{field: header for header, field in suggested.items()},
        "street": "Via",
        "province": "Prov.",
        "payment_method": "Canale",
    }
    assert layout.columns["tax_code"]["check"] == "warn"
    assert layout.value_maps == {"payment_method": CHANNELS}
    expect(page.locator("#layout-columns")).to_contain_text("Canale")

    # WHEN they load the creditor's file with it through the acquisition upload
    upload(page, ImportKind.ACQUISITION, compass, layout.slug, sample)
    process_queued_job(page, task_worker)

    # THEN one case per contract is created, exactly as in the file
    assert outcome_count(page, RowOutcome.CREATED) == str(len(CASES))
    for contract, name, tax_code, street, postcode, city, province, installments in CASES:
        case = Case.objects.get(creditor=compass, contract_number=contract)
        debtor = case.parties.get(role=PartyRole.MAIN).debtor
        assert (debtor.name, debtor.tax_code) == (name, tax_code)
        address = debtor.addresses.get()
        assert (address.street, address.postcode, address.city, address.province) == (
            street,
            postcode,
            city,
            province,
        )
        assert [
            (i.number, i.due_date, i.amount, i.payment_method)
            for i in case.installments.order_by("number")
        ] == [
            (number, italian_date(due), italian_amount(amount), CHANNELS[channel])
            for number, due, amount, channel in installments
        ]

    # AND the case page shows the debtor and the installments
    contract, name, *_rest, installments = CASES[2]
    case = Case.objects.get(creditor=compass, contract_number=contract)
    page.goto(reverse("cases:detail", args=[case.pk]))
    expect(page.get_by_text(name, exact=True).first).to_be_visible()
    for number, due, amount, _channel in installments:
        row = page.locator("tbody tr").filter(has_text=due)
        expect(row).to_have_count(1)
        expect(row).to_contain_text(f"€ {amount}")
        expect(row.locator("td").first).to_have_text(str(number))
