"""Axactor's portfolio layout: one row per position in an Excel sheet below title rows, with the
original creditor, the amounts assigned and no batch column."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook

from cases.models import Address, Case, CaseParty, Contact, Debtor, DebtorKind
from creditors.models import Batch, Creditor
from imports.models import ImportRow, JobStatus, Layout, RowOutcome
from imports.presets import install_presets
from imports.tests.helpers import run_file

pytestmark = pytest.mark.django_db

HEADER = (
    "ID_POSIZIONE",
    "NUM_CONTRATTO",
    "CEDENTE",
    "PRODOTTO",
    "COGNOME",
    "NOME",
    "CODICE_FISCALE",
    "DATA_NASCITA",
    "INDIRIZZO_RES",
    "CAP_RES",
    "COMUNE_RES",
    "PROV_RES",
    "TELEFONO_1",
    "CELLULARE",
    "EMAIL",
    "CAPITALE",
    "INTERESSI",
    "SPESE",
    "TOTALE_DEBITO",
    "DATA_DECADENZA",
    "DATA_ULTIMO_PAGAMENTO",
)
TOTAL_COLUMN = "S"
FIRST_DATA_ROW = 4  # two title rows, then the header

ROSSI = [
    "AX00700000",
    "250570517832",
    "Banca Alfa S.p.A.",
    "PRESTITO",
    "Rossi",
    "Maria Grazia",
    "rssmgr80a41h501w",
    date(1980, 1, 1),
    "Via Casilina 12",
    3020,  # a postcode Excel took for a number: 03020
    "Torrice",
    "fr",
    "0775123456",
    "3331234567",
    "maria.rossi@example.it",
    1234.56,
    100.1,
    15,
    "=P{row}+Q{row}+R{row}",
    date(2023, 5, 10),
    date(2024, 1, 28),
]
BIANCHI = [
    "AX00700001",
    "638486836906",
    "Telco Beta S.p.A.",
    "UTENZA",
    "Bianchi",
    "Luca",
    "BNCLCU75C12F205G",
    "12/03/1975",
    "Corso Buenos Aires 3",
    "20124",
    "Milano",
    "MI",
    None,
    "3479876543",
    None,
    89.9,
    0,
    None,
    89.9,
    "21/02/2022",
    None,
]
EDILIZIA = [
    "AX00700002",
    "924872783139",
    "Energia Gamma S.r.l.",
    "UTENZA",
    "Edilizia Verdi S.r.l.",
    None,
    2345670018,  # a VAT number saved as a number: its leading zero is gone
    None,
    "Via dell'Industria 5",
    "00118",
    "Roma",
    "RM",
    "06 1234567",
    None,
    "amministrazione@ediliziaverdi.it",
    10000,
    250.5,
    35.25,
    10285.75,
    date(2021, 11, 30),
    date(2022, 6, 15),
]


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are compared in their English source form, whatever the project's language.
    with translation.override("en"):
        yield


def axactor_xlsx(*positions: Sequence[Any], cached_totals: dict[int, str] | None = None) -> bytes:
    """The positions below two title rows on the sheet "Posizioni"; formula cells of the total
    column get the value Excel would have stored with them (`cached_totals`, by data row)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Posizioni"
    sheet.append(["Axactor Italy S.p.A. — affido posizioni"])
    sheet.append(["Estrazione del 03/11/2025"])
    sheet.append(HEADER)
    for number, position in enumerate(positions, FIRST_DATA_ROW):
        cells = [c.format(row=number) if isinstance(c, str) else c for c in position]
        sheet.append(cells)
        for column in "HTU":
            sheet[f"{column}{number}"].number_format = "DD/MM/YYYY"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return with_cached_values(buffer.getvalue(), cached_totals or {})


def with_cached_values(data: bytes, values: dict[int, str]) -> bytes:
    """openpyxl writes formulas without a stored result; Excel stores one, and that is read."""
    member = "xl/worksheets/sheet1.xml"
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == member:
                xml = content.decode()
                for row, value in values.items():
                    cell = f"{TOTAL_COLUMN}{row}"
                    xml, count = re.subn(
                        rf'<c r="{cell}"[^>]*>\s*<f>([^<]*)</f>.*?</c>',
                        rf'<c r="{cell}"><f>\1</f><v>{value}</v></c>',
                        xml,
                        flags=re.S,
                    )
                    assert count == 1, cell
                content = xml.encode()
            target.writestr(item, content)
    return output.getvalue()


def three_positions() -> bytes:
    return axactor_xlsx(ROSSI, BIANCHI, EDILIZIA, cached_totals={4: "1349.66"})


def test_each_position_becomes_a_case_with_the_file_s_amounts_debtor_and_contacts(
    axactor: Creditor,
) -> None:
    job = run_file(axactor, "axactor-affido", three_positions(), "axactor_affido_2025_11.xlsx")

    assert job.status == JobStatus.DONE
    assert job.counts == {
        "rows": 3,
        "cases_created": 3,
        "cases_reassigned": 0,
        "already_present": 0,
        "debtors_created": 3,
        "installments_created": 0,
        "errors": 0,
        "warnings": 0,
    }
    assert (job.detected_format["sheet"], job.detected_format["header_row"]) == ("Posizioni", 3)
    assert list(Batch.objects.values_list("creditor__code", "code")) == [
        ("AXACTOR", "axactor_affido_2025_11")
    ]
    cases = {
        case.creditor_reference: case
        for case in Case.objects.select_related("batch").filter(creditor=axactor)
    }
    assert [
        (
            case.contract_number,
            case.original_creditor,
            case.product,
            case.principal,
            case.interest,
            case.charges,
            case.assigned_total,
            case.acceleration_date,
            case.last_payment_date,
        )
        for case in (cases["AX00700000"], cases["AX00700001"], cases["AX00700002"])
    ] == [
        (
            "250570517832",
            "Banca Alfa S.p.A.",
            "PRESTITO",
            Decimal("1234.56"),
            Decimal("100.10"),
            Decimal("15.00"),
            Decimal("1349.66"),
            date(2023, 5, 10),
            date(2024, 1, 28),
        ),
        (
            "638486836906",
            "Telco Beta S.p.A.",
            "UTENZA",
            Decimal("89.90"),
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("89.90"),
            date(2022, 2, 21),
            None,
        ),
        (
            "924872783139",
            "Energia Gamma S.r.l.",
            "UTENZA",
            Decimal("10000.00"),
            Decimal("250.50"),
            Decimal("35.25"),
            Decimal("10285.75"),
            date(2021, 11, 30),
            date(2022, 6, 15),
        ),
    ]
    assert sorted(
        CaseParty.objects.values_list(
            "case__creditor_reference",
            "debtor__name",
            "debtor__tax_code",
            "debtor__kind",
            "debtor__birth_date",
        )
    ) == [
        (
            "AX00700000",
            "Rossi Maria Grazia",
            "RSSMGR80A41H501W",
            DebtorKind.PERSON,
            date(1980, 1, 1),
        ),
        ("AX00700001", "Bianchi Luca", "BNCLCU75C12F205G", DebtorKind.PERSON, date(1975, 3, 12)),
        ("AX00700002", "Edilizia Verdi S.r.l.", "02345670018", DebtorKind.COMPANY, None),
    ]
    assert sorted(
        Address.objects.values_list(
            "debtor__tax_code", "street", "postcode", "city", "province", "source"
        )
    ) == [
        ("02345670018", "Via dell'Industria 5", "00118", "Roma", "RM", "creditor"),
        ("BNCLCU75C12F205G", "Corso Buenos Aires 3", "20124", "Milano", "MI", "creditor"),
        ("RSSMGR80A41H501W", "Via Casilina 12", "03020", "Torrice", "FR", "creditor"),
    ]
    assert sorted(Contact.objects.values_list("debtor__tax_code", "kind", "value")) == [
        ("02345670018", "email", "amministrazione@ediliziaverdi.it"),
        ("02345670018", "phone", "+39061234567"),
        ("BNCLCU75C12F205G", "mobile", "+393479876543"),
        ("RSSMGR80A41H501W", "email", "maria.rossi@example.it"),
        ("RSSMGR80A41H501W", "mobile", "+393331234567"),
        ("RSSMGR80A41H501W", "phone", "+390775123456"),
    ]
    assert set(ImportRow.objects.filter(job=job).values_list("outcome", "message")) == {
        (RowOutcome.CREATED, "")
    }


def test_a_missing_total_is_the_sum_and_a_different_one_is_kept_with_a_warning(
    axactor: Creditor,
) -> None:
    without_total = [*BIANCHI[:18], None, *BIANCHI[19:]]
    # The creditor's total adds an item it does not break down; Excel stored its result.
    other_total = [*EDILIZIA[:18], "=P{row}+Q{row}+R{row}+14.25", *EDILIZIA[19:]]
    data = axactor_xlsx(without_total, other_total, cached_totals={5: "10300"})

    job = run_file(axactor, "axactor-affido", data, "a.xlsx")

    assert dict(Case.objects.values_list("creditor_reference", "assigned_total")) == {
        "AX00700001": Decimal("89.90"),
        "AX00700002": Decimal("10300.00"),
    }
    assert list(ImportRow.objects.filter(job=job).values_list("number", "outcome", "message")) == [
        (4, RowOutcome.CREATED, ""),
        (
            5,
            RowOutcome.CREATED,
            "Total € 10.300,00 differs from principal+interest+fees € 10.285,75: the "
            "creditor's total is kept.",
        ),
    ]


def test_a_broken_date_keeps_its_position_out_and_says_where(axactor: Creditor) -> None:
    broken = [*BIANCHI[:7], "31/02/1975", *BIANCHI[8:]]

    job = run_file(axactor, "axactor-affido", axactor_xlsx(ROSSI, broken), "a.xlsx")

    assert job.status == JobStatus.DONE
    assert (job.counts["cases_created"], job.counts["errors"]) == (1, 2)
    assert sorted(
        ImportRow.objects.filter(job=job, outcome=RowOutcome.ERROR).values_list("number", "message")
    ) == [
        (5, "Contract 638486836906 not loaded: fix row(s) 5 and load it again."),
        (5, "Row 5, column DATA_NASCITA: '31/02/1975' is not a valid date (dd/mm/yyyy)"),
    ]
    assert list(Case.objects.values_list("creditor_reference", flat=True)) == ["AX00700000"]
    assert not Debtor.objects.filter(tax_code=BIANCHI[6]).exists()


def test_the_same_file_twice_is_already_applied(axactor: Creditor) -> None:
    # Built once: a workbook records when it was saved, so two builds may differ in bytes.
    content = three_positions()
    first = run_file(axactor, "axactor-affido", content, "axactor_affido.xlsx")

    second = run_file(axactor, "axactor-affido", content, "axactor_affido (1).xlsx")

    assert second.status == JobStatus.ALREADY_APPLIED
    assert second.duplicate_of == first
    assert second.error.startswith(f"This file was already applied by job #{first.pk} on ")
    assert (Case.objects.count(), Batch.objects.count()) == (3, 1)


def test_a_position_in_a_later_file_is_a_reassignment_in_that_file_s_batch(
    axactor: Creditor,
) -> None:
    run_file(axactor, "axactor-affido", three_positions(), "axactor_2025_10.xlsx")
    again = [*ROSSI[:15], 1200, *ROSSI[16:18], 1315.1, *ROSSI[19:]]
    new = ["AX00800000", "111222333444", *BIANCHI[2:]]

    job = run_file(axactor, "axactor-affido", axactor_xlsx(again, new), "axactor_2025_11.xlsx")

    assert job.status == JobStatus.DONE
    assert (job.counts["cases_created"], job.counts["cases_reassigned"]) == (2, 1)
    # Bianchi's debtor is found by tax code, although on another contract.
    assert job.counts["debtors_created"] == 0
    earlier, latest = Case.objects.filter(contract_number=ROSSI[1]).order_by("id")
    assert latest.previous == earlier
    assert (earlier.batch.code, latest.batch.code) == ("axactor_2025_10", "axactor_2025_11")
    assert (latest.principal, latest.assigned_total) == (Decimal("1200.00"), Decimal("1315.10"))
    assert Debtor.objects.count() == 3


def test_the_preset_can_be_installed_again_without_changing_anything(db: None) -> None:
    before = list(Layout.objects.filter(is_preset=True).order_by("slug").values())

    install_presets(Layout)

    assert list(Layout.objects.filter(is_preset=True).order_by("slug").values()) == before
    layout = Layout.objects.get(slug="axactor-affido")
    assert (layout.kind, layout.sheet, layout.creditor) == ("acquisition", "Posizioni", None)
    assert "batch_code" not in layout.columns
