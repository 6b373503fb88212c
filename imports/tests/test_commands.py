"""The command line runs the same jobs as the upload page and prints one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditAction, AuditEvent
from cases.models import Installment, InstallmentStatus
from creditors.models import Creditor
from imports.tests.helpers import AFFIDO_HEADER, INSOLUTI_HEADER, csv_bytes

pytestmark = pytest.mark.django_db

AFFIDO_ROW = (
    "CMP-1;0010019418;SANGUINETI TEMISTOCLE;SNGTST56P19D292A;VIA PO 3;10124;TORINO;TO;;;;"
    "PRESTITO PERSONALE;1;15/05/2025;489,17;SDD"
)
INSOLUTO = "A0417;0010019418;SANGUINETI TEMISTOCLE;;1;15/05/2025;489,17;SDD;24/05/2025;5,16"


def import_file(path: Path, layout: str, *extra: str) -> dict[str, object]:
    out = []

    class Capture:
        def write(self, text: str) -> None:
            out.append(text)

        def flush(self) -> None:
            pass

    call_command(
        "import_file",
        str(path),
        "--creditor",
        "compass",
        "--layout",
        layout,
        "--json",
        *extra,
        stdout=Capture(),
    )
    return json.loads("".join(out))


def test_add_creditor_creates_it_once(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("add_creditor", "COMPASS", "Compass Banca S.p.A.")
    call_command("add_creditor", "COMPASS", "Another name")

    assert Creditor.objects.get().name == "Compass Banca S.p.A."
    assert capsys.readouterr().out == "COMPASS: created\nCOMPASS: already present\n"


def test_add_creditor_sets_a_checked_vat_number_audited(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("add_creditor", "COMPASS", "Compass Banca S.p.A.")
    with pytest.raises(CommandError, match="not a valid Italian VAT number"):
        call_command("add_creditor", "COMPASS", "Compass", "--vat-number", "03123450152")
    call_command("add_creditor", "COMPASS", "Compass", "--vat-number", "IT 03123450151")

    creditor = Creditor.objects.get()
    assert creditor.vat_number == "03123450151"
    assert capsys.readouterr().out == (
        "COMPASS: created\nCOMPASS: already present, VAT number 03123450151\n"
    )
    event = AuditEvent.objects.get(action=AuditAction.UPDATE)
    assert (event.before, event.after) == ({"vat_number": ""}, {"vat_number": "03123450151"})


def test_acquisition_then_unpaid_print_their_counts(compass: Creditor, tmp_path: Path) -> None:
    affido = tmp_path / "affido.csv"
    affido.write_bytes(csv_bytes(AFFIDO_HEADER, AFFIDO_ROW))
    insoluti = tmp_path / "insoluti.csv"
    insoluti.write_bytes(csv_bytes(INSOLUTI_HEADER, INSOLUTO, INSOLUTO.replace("489,17", "1,00")))

    acquired = import_file(affido, "compass-affido")
    preview = import_file(insoluti, "compass-insoluti", "--dry-run")
    applied = import_file(insoluti, "compass-insoluti")

    assert {
        k: acquired[k]
        for k in ("rows", "cases_created", "debtors_created", "installments_created", "errors")
    } == {
        "rows": 1,
        "cases_created": 1,
        "debtors_created": 1,
        "installments_created": 1,
        "errors": 0,
    }
    assert preview["dry_run"] is True
    assert applied["job"] == preview["job"] + 1
    for result in (preview, applied):
        assert (result["rows"], result["found"], result["duplicates"]) == (2, 1, 0)
        assert result["fees_total"] == "5.16"
        assert result["not_found"] == {
            "contract_not_found": 0,
            "amount_mismatch": 1,
            "due_date_mismatch": 0,
            "payment_method_mismatch": 0,
            "installment_not_found": 0,
        }
    assert Installment.objects.get().status == InstallmentStatus.UNPAID


def test_a_file_it_cannot_read_exits_non_zero_with_one_line(
    compass: Creditor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "import_file",
            str(binary),
            "--creditor",
            "COMPASS",
            "--layout",
            "compass-insoluti",
            "--json",
        )

    assert exit_info.value.code == 1
    assert json.loads(capsys.readouterr().out)["status"] == "failed"


def test_a_missing_path_or_unknown_creditor_is_a_command_error(
    compass: Creditor, tmp_path: Path
) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command(
            "import_file",
            str(tmp_path / "nope.csv"),
            "--creditor",
            "COMPASS",
            "--layout",
            "compass-insoluti",
        )
    (tmp_path / "x.csv").write_text("a;b\n1;2\n")
    with pytest.raises(CommandError, match="No creditor with code ACME"):
        call_command(
            "import_file",
            str(tmp_path / "x.csv"),
            "--creditor",
            "ACME",
            "--layout",
            "compass-insoluti",
        )


def test_fail_interrupted_jobs_reports_how_many(
    db: None, capsys: pytest.CaptureFixture[str]
) -> None:
    call_command("fail_interrupted_jobs")

    assert capsys.readouterr().out == "0 interrupted job(s) marked as failed.\n"


def test_with_json_a_refused_file_still_prints_one_object(
    compass: Creditor, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        call_command(
            "import_file",
            str(tmp_path / "nope.csv"),
            "--creditor",
            "COMPASS",
            "--layout",
            "compass-insoluti",
            "--json",
        )

    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "refused"
    assert printed["error"].startswith("Cannot read")
