"""Checks on tax codes, phones and e-mail addresses, and what a layout's policy does with them."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from cases.models import Case, Contact
from creditors.models import Creditor
from imports.checks import check_email, check_phone, check_tax_code
from imports.models import ImportJob, ImportRow, JobStatus, Layout, RowOutcome
from imports.parsers import FieldError
from imports.tests.helpers import AFFIDO_HEADER, csv_bytes, run_file

pytestmark = pytest.mark.django_db

VALID_CODE = "RSSMRA80A01H501U"


def affido(tax_code: str, phone: str = "0612345678", email: str = "m@example.it") -> str:
    return (
        f"CMP-1;0010007000;ROSSI MARIO;{tax_code};VIA ROMA 1;00100;ROMA;RM;{phone};;{email};"
        "PRESTITO;1;15/08/2025;100,00;SDD"
    )


def set_check(field: str, policy: str) -> None:
    layout = Layout.objects.get(slug="compass-affido")
    layout.columns[field]["check"] = policy
    layout.save()


def acquire(creditor: Creditor, *lines: str, header: str = AFFIDO_HEADER) -> ImportJob:
    with translation.override("en"):
        return run_file(creditor, "compass-affido", csv_bytes(header, *lines))


def messages(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(
        ImportRow.objects.filter(job=job)
        .order_by("number")
        .values_list("number", "outcome", "message")
    )


# The checks alone


def test_a_valid_omocode_tax_code_is_accepted() -> None:
    # Digits of the year, day and comune replaced by letters, as the Agenzia does for homonyms.
    assert check_tax_code("RSSMRAULAMMH50MY", date(1980, 1, 11)) == "RSSMRAULAMMH50MY"


def test_a_birth_date_disagreeing_with_the_tax_code_is_named() -> None:
    with translation.override("en"), pytest.raises(FieldError) as error:
        check_tax_code(VALID_CODE, date(1980, 2, 1))

    assert str(error.value) == (
        "the codice fiscale 'RSSMRA80A01H501U' gives the birth date 01/01/1980, but the file "
        "gives 01/02/1980; correct one of the two"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("12345670018", "'12345670018' is not a valid partita IVA; check its digits"),
        ("ABC", "'ABC' is neither a codice fiscale (16 characters) nor a partita IVA (11 digits)"),
    ],
)
def test_a_wrong_vat_number_or_other_text_is_refused(value: str, message: str) -> None:
    with translation.override("en"), pytest.raises(FieldError) as error:
        check_tax_code(value)

    assert str(error.value) == message


def test_a_valid_vat_number_is_accepted() -> None:
    assert check_tax_code("12345670017") == "12345670017"


def test_phones_become_e164_and_e_mail_lower_case() -> None:
    assert check_phone("06 1234 5678") == "+390612345678"
    assert check_phone("+39 333 123 4567") == "+393331234567"
    assert check_email("Mario.Rossi@Example.IT") == "mario.rossi@example.it"


# Through an acquisition


def test_a_wrong_check_character_rejects_the_row_when_the_layout_says_reject(
    compass: Creditor,
) -> None:
    set_check("tax_code", "reject")

    job = acquire(compass, affido("RSSMRA80A01H501V"))

    assert job.status == JobStatus.DONE
    assert not Case.objects.exists()
    assert messages(job)[0] == (
        2,
        RowOutcome.ERROR,
        "Row 2, column COD_FISCALE: 'RSSMRA80A01H501V' is not a valid codice fiscale; check it "
        "against the debtor's card",
    )


def test_a_birth_date_disagreeing_with_the_tax_code_rejects_the_row(compass: Creditor) -> None:
    layout = Layout.objects.get(slug="compass-affido")
    layout.columns["birth_date"] = {"header": "DATA_NASCITA"}
    layout.columns["tax_code"]["check"] = "reject"
    layout.save()

    job = acquire(
        compass, affido(VALID_CODE) + ";02/01/1980", header=AFFIDO_HEADER + ";DATA_NASCITA"
    )

    assert not Case.objects.exists()
    assert messages(job)[0][2] == (
        "Row 2, column COD_FISCALE: the codice fiscale 'RSSMRA80A01H501U' gives the birth date "
        "01/01/1980, but the file gives 02/01/1980; correct one of the two"
    )


def test_an_invalid_phone_only_warns_by_default_and_the_case_is_loaded(
    compass: Creditor,
) -> None:
    job = acquire(compass, affido(VALID_CODE, phone="12"))

    assert job.counts["cases_created"] == 1
    assert job.counts["warnings"] == 1
    assert messages(job) == [
        (
            2,
            RowOutcome.CREATED,
            "Row 2, column TELEFONO: '12' is not a valid phone number; check its digits and prefix",
        )
    ]
    # The value is kept as the creditor gave it.
    assert sorted(Contact.objects.values_list("kind", "value")) == [
        ("email", "m@example.it"),
        ("phone", "12"),
    ]


def test_every_case_with_the_same_invalid_phone_gets_its_warning(compass: Creditor) -> None:
    second = affido(VALID_CODE, phone="12").replace("0010007000", "0010007001")

    job = acquire(compass, affido(VALID_CODE, phone="12"), second)

    assert job.counts["warnings"] == 2


def test_an_invalid_e_mail_rejects_the_row_when_the_layout_says_reject(
    compass: Creditor,
) -> None:
    set_check("email", "reject")

    job = acquire(compass, affido(VALID_CODE, email="mario@"))

    assert not Case.objects.exists()
    assert job.counts["errors"] == 2
    assert messages(job)[0] == (
        2,
        RowOutcome.ERROR,
        "Row 2, column EMAIL: 'mario@' is not a valid e-mail address",
    )


def test_an_unknown_policy_fails_the_file_with_a_message(compass: Creditor) -> None:
    set_check("phone", "ignore")

    job = acquire(compass, affido(VALID_CODE))

    assert job.status == JobStatus.FAILED
    assert job.error == (
        "The layout “Compass — affido (portafoglio)” asks for the check “ignore” on the column "
        "TELEFONO: use “reject” or “warn”."
    )
