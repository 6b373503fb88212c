"""The IBAN check, and the IBAN a portfolio file gives stored as the debtor's contact."""

from __future__ import annotations

import pytest
from django.utils import translation

from cases.models import Case, Contact, ContactKind, Debtor
from creditors.models import Creditor
from imports.checks import check_iban
from imports.models import ImportJob, ImportRow, Layout, RowOutcome
from imports.parsers import FieldError
from imports.tests.helpers import AFFIDO_HEADER, csv_bytes, run_file

VALID_CODE = "RSSMRA80A01H501U"
IBAN = "IT60X0542811101000000123456"


@pytest.mark.parametrize(
    "value",
    [
        IBAN,
        "IT60 X054 2811 1010 0000 0123 456",
        "it60x0542811101000000123456",
        " IT60X0542811101000000123456 ",
        "IT60-X054-2811-1010-0000-0123-456",
        "IT60.X054.2811.1010.0000.0123.456",
        "IBAN IT60X0542811101000000123456",
        "IBAN: IT60 X054 2811 1010 0000 0123 456",
    ],
)
def test_a_valid_iban_is_kept_in_compact_form(value: str) -> None:
    assert check_iban(value) == IBAN


@pytest.mark.parametrize(
    "value", ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"]
)
def test_foreign_ibans_are_valid_too(value: str) -> None:
    assert check_iban(value) == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("IT61X0542811101000000123456", "its check digits do not match: a character is mistyped"),
        ("IT60X054281110100000012345", "it has the wrong number of characters for its country"),
        ("XX60X0542811101000000123456", "its first two letters are not a country that uses IBANs"),
        # Right IBAN check digits, wrong CIN (the Italian check letter).
        (
            "IT64Y0542811101000000123456",
            "the national check character does not match: a character is mistyped",
        ),
        ("IT60X05428111010000001234_6", "its bank or account part is not in its country's format"),
    ],
)
def test_an_invalid_iban_is_refused_with_what_is_wrong(value: str, problem: str) -> None:
    with translation.override("en"), pytest.raises(FieldError) as failed:
        check_iban(value)

    assert str(failed.value) == f"'{value}' is not a valid IBAN: {problem}"


# Through an acquisition


def affido(iban: str, contract: str = "0010007000") -> str:
    return (
        f"CMP-1;{contract};ROSSI MARIO;{VALID_CODE};VIA ROMA 1;00187;ROMA;RM;;;;PRESTITO;1;"
        f"15/08/2025;100,00;SDD;{iban}"
    )


def acquire(creditor: Creditor, *lines: str, policy: str | None = None) -> ImportJob:
    layout = Layout.objects.get(slug="compass-affido")
    layout.columns["iban"] = {"header": "IBAN", **({"check": policy} if policy else {})}
    layout.save()
    with translation.override("en"):
        return run_file(creditor, "compass-affido", csv_bytes(AFFIDO_HEADER + ";IBAN", *lines))


def messages(job: ImportJob) -> list[tuple[str, str]]:
    return list(
        ImportRow.objects.filter(job=job).order_by("number").values_list("outcome", "message")
    )


@pytest.mark.django_db
def test_the_iban_is_stored_as_the_debtor_s_contact_in_compact_form(compass: Creditor) -> None:
    job = acquire(compass, affido("IT60 X054 2811 1010 0000 0123 456"))

    assert job.counts["warnings"] == 0
    assert list(Contact.objects.values_list("kind", "value")) == [(ContactKind.IBAN, IBAN)]


@pytest.mark.django_db
def test_an_invalid_iban_warns_by_default_and_is_kept_as_read(compass: Creditor) -> None:
    job = acquire(compass, affido("IT61X0542811101000000123456"))

    assert job.counts["cases_created"] == 1
    assert messages(job) == [
        (
            RowOutcome.CREATED,
            "Row 2, column IBAN: 'IT61X0542811101000000123456' is not a valid IBAN: its check "
            "digits do not match: a character is mistyped",
        )
    ]
    assert list(Contact.objects.values_list("value", flat=True)) == ["IT61X0542811101000000123456"]


@pytest.mark.django_db
def test_an_invalid_iban_rejects_the_row_when_the_layout_says_reject(compass: Creditor) -> None:
    job = acquire(compass, affido("IT60X054281110100000012345"), policy="reject")

    assert not Case.objects.exists()
    assert messages(job)[0][0] == RowOutcome.ERROR
    assert "is not a valid IBAN: it has the wrong number of characters" in messages(job)[0][1]


@pytest.mark.django_db
def test_an_iban_the_debtor_has_in_another_form_is_not_added_again(compass: Creditor) -> None:
    debtor = Debtor.objects.create(name="ROSSI MARIO", tax_code=VALID_CODE)
    Contact.objects.create(
        debtor=debtor, kind=ContactKind.IBAN, value="it60 x054 2811 1010 0000 0123 456"
    )

    acquire(compass, affido(IBAN))

    assert Contact.objects.filter(debtor=debtor, kind=ContactKind.IBAN).count() == 1
