"""An assignment sent as four files (cases, main debtors, co-obligors and guarantors, installments)
read by one layout: linked by the creditor's position id, written whole or not at all."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook
from stdnum.it import codicefiscale

from accounts.models import User
from cases.models import Address, Case, CaseParty, Contact, Debtor, Installment, PartyRole
from creditors.models import Batch, Creditor
from imports.assignment import AssignmentImporter, part_names, set_digest, stored_files
from imports.models import ImportJob, ImportJobFile, ImportRow, JobStatus, Layout, RowOutcome
from imports.services import SubmitError, confirm_preview, run_import, submit_import
from imports.tests.helpers import csv_bytes
from imports.tests.snapshots import exact_snapshot, natural_snapshot
from imports.undo import undo_blockers, undo_job

pytestmark = pytest.mark.django_db

SLUG = "axactor-affido-4-file"


def tax_code(first_fifteen: str) -> str:
    return first_fifteen + codicefiscale.calc_check_digit(first_fifteen)


ROSSI_MARIA = tax_code("RSSMRA80A41H501")
BIANCHI_LUCA = tax_code("BNCLCU75C12F205")
VERDI_ANNA = tax_code("VRDNNA70E50L219")
ROSSI_PAOLO = tax_code("RSSPLA78B10H501")
NERI_SRL = "12345670017"

CASES = csv_bytes(
    "ID_POSIZIONE;NUM_CONTRATTO;CEDENTE;PRODOTTO;CAPITALE;INTERESSI;SPESE;TOTALE",
    "AX001;0012345;Banca Alfa S.p.A.;PRESTITO;1.000,00;100,00;10,00;1.110,00",
    "AX002;0012346;Banca Alfa S.p.A.;CARTA;500,00;0,00;0,00;500,00",
    "AX003;0012347;Banca Beta S.p.A.;PRESTITO;2.000,50;;;2.000,50",
)
DEBTORS = csv_bytes(
    "ID_POSIZIONE;COGNOME;NOME;CODICE_FISCALE;INDIRIZZO;CAP;COMUNE;PROV;CELLULARE",
    f"AX001;Rossi;Maria;{ROSSI_MARIA};Via Roma 1;00184;Roma;RM;333 1234567",
    f"AX002;Bianchi;Luca;{BIANCHI_LUCA};Corso Como 5;20154;Milano;MI;",
    f"AX003;Verdi;Anna;{VERDI_ANNA};Via Po 3;10123;Torino;TO;",
)
PARTIES = csv_bytes(
    "ID_POSIZIONE;RUOLO;NOMINATIVO;CODICE_FISCALE;INDIRIZZO;CAP;COMUNE;PROV;TELEFONO",
    f"AX001;COOB;Rossi Paolo;{ROSSI_PAOLO};Via Roma 1;00184;Roma;RM;06 1234567",
    f"AX001;GARANTE;Bianchi Luca;{BIANCHI_LUCA};Corso Como 5;20154;Milano;MI;",
    f"AX003;G;Neri S.r.l.;{NERI_SRL};Via Dante 9;40121;Bologna;BO;",
)
DETAILS = csv_bytes(
    "ID_POSIZIONE;NUM_RATA;SCADENZA;IMPORTO;MODALITA",
    "AX001;1;15/01/2025;555,00;RID",
    "AX001;2;15/02/2025;555,00;RID",
    "AX002;1;10/03/2025;500,00;BOL",
)
FILES = [
    ("AX_pratiche_2025.csv", CASES),
    ("AX_debitori_2025.csv", DEBTORS),
    ("AX_garanti_2025.csv", PARTIES),
    ("AX_dettaglio_2025.csv", DETAILS),
]
KEY = ["creditor_reference"]


def four_file_layout() -> Layout:
    return Layout.objects.create(
        slug=SLUG,
        name="Axactor — affido in quattro file",
        kind="acquisition",
        files=[
            {
                "name": "pratiche",
                "key": KEY,
                "columns": {
                    "creditor_reference": {"header": "ID_POSIZIONE"},
                    "contract_number": {"header": "NUM_CONTRATTO"},
                    "original_creditor": {"header": "CEDENTE"},
                    "product": {"header": "PRODOTTO"},
                    "principal": {"header": "CAPITALE"},
                    "interest": {"header": "INTERESSI"},
                    "charges": {"header": "SPESE"},
                    "total": {"header": "TOTALE"},
                },
            },
            {
                "name": "debitori",
                "key": KEY,
                "columns": {
                    "creditor_reference": {"header": "ID_POSIZIONE"},
                    "debtor_surname": {"header": "COGNOME"},
                    "debtor_first_name": {"header": "NOME"},
                    "tax_code": {"header": "CODICE_FISCALE", "check": "reject"},
                    "street": {"header": "INDIRIZZO"},
                    "postcode": {"header": "CAP"},
                    "city": {"header": "COMUNE"},
                    "province": {"header": "PROV"},
                    "mobile": {"header": "CELLULARE"},
                },
            },
            {
                "name": "garanti",
                "key": KEY,
                "columns": {
                    "creditor_reference": {"header": "ID_POSIZIONE"},
                    "party_role": {"header": "RUOLO"},
                    "debtor_name": {"header": "NOMINATIVO"},
                    "tax_code": {"header": "CODICE_FISCALE"},
                    "street": {"header": "INDIRIZZO"},
                    "postcode": {"header": "CAP"},
                    "city": {"header": "COMUNE"},
                    "province": {"header": "PROV"},
                    "phone": {"header": "TELEFONO"},
                },
                "value_maps": {"party_role": {"COOB": "co_obligor", "G": "guarantor"}},
            },
            {
                "name": "dettaglio",
                "key": KEY,
                "columns": {
                    "creditor_reference": {"header": "ID_POSIZIONE"},
                    "installment_number": {"header": "NUM_RATA"},
                    "due_date": {"header": "SCADENZA"},
                    "amount": {"header": "IMPORTO"},
                    "payment_method": {"header": "MODALITA"},
                },
                "value_maps": {"payment_method": {"RID": "SDD"}},
            },
        ],
    )


@pytest.fixture
def layout(db: None) -> Layout:
    return four_file_layout()


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def run_set(
    creditor: Creditor, files: list[tuple[str, bytes]], *, dry_run: bool = False
) -> ImportJob:
    (name, data), *more = files
    job = submit_import(
        user=None,
        creditor=creditor,
        layout=Layout.objects.get(slug=SLUG),
        name=name,
        data=data,
        more_files=more,
        dry_run=dry_run,
    )
    return run_import(job.pk) if job.status == JobStatus.QUEUED else job


def replaced(position: int, data: bytes) -> list[tuple[str, bytes]]:
    files = list(FILES)
    files[position] = (files[position][0], data)
    return files


def parties_by_contract() -> dict[str, set[tuple[str, str | None, str]]]:
    found: dict[str, set[tuple[str, str | None, str]]] = {}
    rows = CaseParty.objects.values_list(
        "case__contract_number", "role", "debtor__tax_code", "debtor__name"
    )
    for contract, role, code, name in rows:
        found.setdefault(contract, set()).add((role, code, name))
    return found


def row_messages(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(
        ImportRow.objects.filter(job=job, outcome=RowOutcome.ERROR)
        .order_by("number", "message")
        .values_list("number", "contract_number", "message")
    )


def test_four_files_make_the_cases_with_their_parties_and_installments(
    axactor: Creditor, layout: Layout
) -> None:
    job = run_set(axactor, FILES)

    assert job.status == JobStatus.DONE, job.error
    assert job.counts == {
        "rows": 12,
        "cases_created": 3,
        "cases_reassigned": 0,
        "already_present": 0,
        "debtors_created": 5,
        "installments_created": 3,
        "errors": 0,
        "warnings": 0,
        "files": 4,
        "parties_created": 6,
    }
    assert parties_by_contract() == {
        "0012345": {
            (PartyRole.MAIN, ROSSI_MARIA, "Rossi Maria"),
            (PartyRole.CO_OBLIGOR, ROSSI_PAOLO, "Rossi Paolo"),
            (PartyRole.GUARANTOR, BIANCHI_LUCA, "Bianchi Luca"),
        },
        "0012346": {(PartyRole.MAIN, BIANCHI_LUCA, "Bianchi Luca")},
        "0012347": {
            (PartyRole.MAIN, VERDI_ANNA, "Verdi Anna"),
            (PartyRole.GUARANTOR, NERI_SRL, "Neri S.r.l."),
        },
    }
    cases = Case.objects.filter(created_job=job)
    assert set(
        cases.values_list(
            "contract_number",
            "creditor_reference",
            "original_creditor",
            "product",
            "principal",
            "interest",
            "charges",
            "assigned_total",
            "batch__code",
        )
    ) == {
        (
            "0012345",
            "AX001",
            "Banca Alfa S.p.A.",
            "PRESTITO",
            Decimal("1000.00"),
            Decimal("100.00"),
            Decimal("10.00"),
            Decimal("1110.00"),
            "AX_pratiche_2025",
        ),
        (
            "0012346",
            "AX002",
            "Banca Alfa S.p.A.",
            "CARTA",
            Decimal("500.00"),
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("500.00"),
            "AX_pratiche_2025",
        ),
        (
            "0012347",
            "AX003",
            "Banca Beta S.p.A.",
            "PRESTITO",
            Decimal("2000.50"),
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("2000.50"),
            "AX_pratiche_2025",
        ),
    }
    assert set(
        Installment.objects.values_list(
            "case__contract_number", "number", "due_date__month", "amount", "payment_method"
        )
    ) == {
        ("0012345", 1, 1, Decimal("555.00"), "SDD"),
        ("0012345", 2, 2, Decimal("555.00"), "SDD"),
        ("0012346", 1, 3, Decimal("500.00"), "BOL"),
    }
    # Bianchi is one debtor, main on one case and guarantor on another, with one address.
    assert Debtor.objects.filter(tax_code=BIANCHI_LUCA).count() == 1
    assert set(Address.objects.values_list("debtor__tax_code", "city")) == {
        (ROSSI_MARIA, "Roma"),
        (BIANCHI_LUCA, "Milano"),
        (VERDI_ANNA, "Torino"),
        (ROSSI_PAOLO, "Roma"),
        (NERI_SRL, "Bologna"),
    }
    assert set(Contact.objects.values_list("debtor__tax_code", "kind", "value")) == {
        (ROSSI_MARIA, "mobile", "+393331234567"),
        (ROSSI_PAOLO, "phone", "+39061234567"),
    }
    assert list(
        ImportJobFile.objects.filter(job=job).values_list("position", "part", "original_name")
    ) == [
        (1, "debitori", "AX_debitori_2025.csv"),
        (2, "garanti", "AX_garanti_2025.csv"),
        (3, "dettaglio", "AX_dettaglio_2025.csv"),
    ]
    assert job.original_name == "AX_pratiche_2025.csv"
    assert job.size == sum(len(data) for _name, data in FILES)
    assert set(
        ImportRow.objects.filter(job=job).values_list("number", "outcome", "contract_number")
    ) == {
        (2, RowOutcome.CREATED, "0012345"),
        (3, RowOutcome.CREATED, "0012346"),
        (4, RowOutcome.CREATED, "0012347"),
    }


def test_files_named_after_their_parts_are_read_in_any_order(
    axactor: Creditor, layout: Layout
) -> None:
    job = run_set(axactor, [FILES[3], FILES[1], FILES[0], FILES[2]])

    assert job.status == JobStatus.DONE, job.error
    assert job.counts["cases_created"] == 3
    assert job.counts["parties_created"] == 6
    assert job.original_name == "AX_pratiche_2025.csv"


def test_a_row_whose_key_is_not_in_the_cases_file_is_an_error_of_its_own(
    axactor: Creditor, layout: Layout
) -> None:
    parties = PARTIES + "AX999;G;Gialli Gino;;;;;;\r\n".encode("cp1252")

    with translation.override("en"):
        job = run_set(axactor, replaced(2, parties))

    assert job.status == JobStatus.DONE, job.error
    assert row_messages(job) == [
        (
            5,
            "",
            "Row 5 of AX_garanti_2025.csv: creditor reference AX999 is not in the cases file "
            "AX_pratiche_2025.csv.",
        )
    ]
    assert job.counts["cases_created"] == 3
    assert job.counts["errors"] == 1
    assert not Debtor.objects.filter(name="Gialli Gino").exists()


def test_a_case_without_a_main_debtor_is_not_loaded(axactor: Creditor, layout: Layout) -> None:
    debtors = b"\r\n".join(DEBTORS.split(b"\r\n")[:3]) + b"\r\n"

    with translation.override("en"):
        job = run_set(axactor, replaced(1, debtors))

    assert job.status == JobStatus.DONE, job.error
    assert row_messages(job) == [
        (
            4,
            "0012347",
            "Contract 0012347 not loaded: fix row(s) 4 and load it again.",
        ),
        (
            4,
            "0012347",
            "Row 4 of AX_pratiche_2025.csv: contract 0012347 has no main debtor in any of "
            "the files.",
        ),
    ]
    assert set(Case.objects.values_list("contract_number", flat=True)) == {"0012345", "0012346"}
    # Its guarantor came only with it, so no debtor is left behind for it either.
    assert not Debtor.objects.filter(tax_code=NERI_SRL).exists()


def test_a_bad_row_in_a_later_file_keeps_its_whole_case_out(
    axactor: Creditor, layout: Layout
) -> None:
    details = DETAILS + b"AX002;2;31/02/2025;500,00;BOL\r\n"

    with translation.override("en"):
        job = run_set(axactor, replaced(3, details))

    messages = [message for _n, _c, message in row_messages(job)]
    assert any(m.startswith("Row 5 of AX_dettaglio_2025.csv, column SCADENZA:") for m in messages)
    assert set(Case.objects.values_list("contract_number", flat=True)) == {"0012345", "0012347"}
    assert not Installment.objects.filter(case__contract_number="0012346").exists()


def test_an_unknown_role_is_a_row_error_naming_the_file(axactor: Creditor, layout: Layout) -> None:
    parties = PARTIES.replace(b"AX003;G;", b"AX003;ZIO;")

    with translation.override("en"):
        job = run_set(axactor, replaced(2, parties))

    assert (
        4,
        "0012347",
        "Row 4 of AX_garanti_2025.csv, column RUOLO: 'ZIO' is not a known role (main, "
        "co_obligor, guarantor); map it in the layout",
    ) in row_messages(job)
    assert not Case.objects.filter(contract_number="0012347").exists()


def test_a_missing_file_is_refused_before_anything_is_stored(
    axactor: Creditor, layout: Layout
) -> None:
    with translation.override("en"), pytest.raises(SubmitError) as refused:
        run_set(axactor, [FILES[0], FILES[1], FILES[3]])

    assert str(refused.value) == (
        "The layout “Axactor — affido in quattro file” reads 4 files, in this order: pratiche, "
        "debitori, garanti, dettaglio; 3 were given (AX_pratiche_2025.csv, "
        "AX_debitori_2025.csv, AX_dettaglio_2025.csv). Missing: garanti."
    )
    assert not ImportJob.objects.exists()
    assert not ImportJobFile.objects.exists()


def test_an_extra_file_or_two_files_for_one_part_are_refused(
    axactor: Creditor, layout: Layout
) -> None:
    with translation.override("en"), pytest.raises(SubmitError) as twice:
        run_set(axactor, [*FILES[:3], ("garanti_bis.csv", PARTIES)])
    with translation.override("en"), pytest.raises(SubmitError) as extra:
        run_set(axactor, [*FILES, ("note.csv", b"x")])

    assert str(twice.value) == (
        "The files AX_garanti_2025.csv and garanti_bis.csv are both the file “garanti”: give one."
    )
    assert "5 were given" in str(extra.value)
    assert not ImportJob.objects.exists()


def test_files_in_the_wrong_order_without_names_fail_naming_the_file(
    axactor: Creditor, layout: Layout
) -> None:
    unnamed = [(f"file{i}.csv", data) for i, (_name, data) in enumerate(FILES, 1)]
    unnamed[1], unnamed[2] = unnamed[2], unnamed[1]
    before = exact_snapshot()

    with translation.override("en"):
        job = run_set(axactor, unnamed)

    assert job.status == JobStatus.FAILED
    assert job.error == (
        "file3.csv: The file does not fit the layout “Axactor — affido in quattro file — "
        "debitori”: column(s) COGNOME, NOME, CELLULARE not found. Columns in the file: "
        "ID_POSIZIONE, RUOLO, NOMINATIVO, CODICE_FISCALE, INDIRIZZO, CAP, COMUNE, PROV, TELEFONO."
    )
    assert exact_snapshot() == before


def test_the_same_set_twice_creates_nothing_the_second_time(
    axactor: Creditor, layout: Layout
) -> None:
    first = run_set(axactor, FILES)
    after_first = natural_snapshot()

    second = run_set(axactor, [FILES[2], FILES[0], FILES[3], FILES[1]])

    assert second.status == JobStatus.ALREADY_APPLIED
    assert second.duplicate_of == first
    assert second.sha256 == first.sha256 == set_digest(stored_files(first))
    assert natural_snapshot() == after_first


def test_a_changed_file_in_the_set_finds_the_cases_already_present(
    axactor: Creditor, layout: Layout
) -> None:
    run_set(axactor, FILES)
    after_first = natural_snapshot()

    again = run_set(axactor, replaced(3, DETAILS + b"AX003;1;01/04/2025;100,00;BOL\r\n"))

    assert again.status == JobStatus.DONE, again.error
    assert again.counts["already_present"] == 3
    assert again.counts["cases_created"] == 0
    assert natural_snapshot() == after_first


def test_undo_removes_everything_the_four_files_created(
    axactor: Creditor, layout: Layout, admin_user: User
) -> None:
    Debtor.objects.create(tax_code=BIANCHI_LUCA, name="Bianchi Luca")
    before = exact_snapshot()
    job = run_set(axactor, FILES)
    assert job.counts["debtors_created"] == 4

    assert undo_blockers(job) == []
    undo_job(job, admin_user)

    assert exact_snapshot() == before
    assert not Batch.objects.exists()


def test_a_party_added_by_hand_later_blocks_the_undo(
    axactor: Creditor, layout: Layout, admin_user: User
) -> None:
    job = run_set(axactor, FILES)
    extra = Debtor.objects.create(name="Aggiunto a mano")
    CaseParty.objects.create(
        case=Case.objects.get(contract_number="0012346"), debtor=extra, role=PartyRole.GUARANTOR
    )

    with translation.override("en"):
        reasons = undo_blockers(job)

    assert any(reason.startswith("Other parties were added to contract(s)") for reason in reasons)


def test_a_failure_halfway_leaves_the_database_as_before(
    axactor: Creditor, layout: Layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = exact_snapshot()

    def broken(*args: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(AssignmentImporter, "_installments", broken)
    job = run_set(axactor, FILES)

    assert job.status == JobStatus.FAILED
    assert exact_snapshot() == before
    assert not ImportRow.objects.filter(job=job).exists()


def test_a_preview_of_the_set_applies_nothing_and_its_confirmation_applies_it(
    axactor: Creditor, layout: Layout, admin_user: User
) -> None:
    before = exact_snapshot()
    preview = run_set(axactor, FILES, dry_run=True)
    assert preview.status == JobStatus.DONE, preview.error
    assert preview.counts["parties_created"] == 6
    assert exact_snapshot() == before

    job = run_import(confirm_preview(preview, admin_user).pk)

    assert job.status == JobStatus.DONE, job.error
    assert job.confirmed_from == preview
    assert job.sha256 == preview.sha256
    assert job.extra_files.count() == 3
    assert CaseParty.objects.count() == 6


def workbook(sheets: dict[str, bytes]) -> bytes:
    """One XLSX with a sheet per part, its cells the text of the CSV's cells."""
    book = Workbook()
    book.remove(book.active)
    for title, data in sheets.items():
        sheet = book.create_sheet(title)
        for line in data.decode("cp1252").splitlines():
            sheet.append(line.split(";"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_one_workbook_with_a_sheet_per_part_is_read_whole(
    axactor: Creditor, layout: Layout
) -> None:
    sheets = ("Pratiche", "Debitori", "Garanti", "Dettaglio")
    layout.files = [
        {**part, "sheet": title} for part, title in zip(layout.files, sheets, strict=True)
    ]
    layout.save()
    data = workbook(dict(zip(sheets, (CASES, DEBTORS, PARTIES, DETAILS), strict=True)))

    job = run_set(axactor, [("axactor_affido_2025_11.xlsx", data)])

    assert job.status == JobStatus.DONE, job.error
    assert (job.counts["cases_created"], job.counts["parties_created"]) == (3, 6)
    assert job.counts["installments_created"] == 3
    assert not job.extra_files.exists()
    assert job.detected_format["sheet"] == "Pratiche"
    assert parties_by_contract()["0012347"] == {
        (PartyRole.MAIN, VERDI_ANNA, "Verdi Anna"),
        (PartyRole.GUARANTOR, NERI_SRL, "Neri S.r.l."),
    }


def test_a_layout_whose_key_is_not_in_the_cases_file_is_refused_on_upload(
    axactor: Creditor, layout: Layout
) -> None:
    layout.files[3]["key"] = ["tax_code"]
    layout.files[3]["columns"]["tax_code"] = {"header": "CODICE_FISCALE"}
    layout.save()

    with translation.override("en"), pytest.raises(SubmitError) as refused:
        run_set(axactor, FILES)

    assert str(refused.value) == (
        "The layout “Axactor — affido in quattro file” is not valid: file dettaglio: its key "
        "tax_code must be a column of this file and of the cases file."
    )
    assert not ImportJob.objects.exists()


def test_a_key_whose_leading_zeros_a_later_file_lost_still_links_its_rows(
    axactor: Creditor, layout: Layout
) -> None:
    """The cases file restores the key's zeros (width 6); the installments file was saved by
    Excel with the key as a number: its rows link to the same cases."""
    files = layout.files
    files[0]["columns"]["creditor_reference"]["width"] = 6
    Layout.objects.filter(pk=layout.pk).update(files=files)
    numbered = [(name, data.replace(b"AX00", b"00010")) for name, data in FILES[:3]] + [
        (FILES[3][0], DETAILS.replace(b"AX00", b"10"))
    ]

    job = run_set(axactor, numbered)

    assert job.status == JobStatus.DONE, job.error
    assert (job.counts["errors"], job.counts["installments_created"]) == (0, 3)
    assert sorted(Installment.objects.values_list("case__creditor_reference", "number")) == [
        ("000101", 1),
        ("000101", 2),
        ("000102", 1),
    ]


def test_a_part_without_name_or_sheet_is_called_by_its_position() -> None:
    layout = Layout(files=[{"name": "pratiche"}, {"sheet": "Garanti"}, {}, {"name": None}])

    assert part_names(layout) == ["pratiche", "Garanti", "3", "4"]
