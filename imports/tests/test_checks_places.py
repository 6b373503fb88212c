"""The address check: postcode, comune and province against ISTAT's list, warn or reject."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from cases.models import Address, Case
from creditors.models import Creditor
from imports.checks import check_address
from imports.models import ImportJob, ImportRow, Layout, RowOutcome
from imports.parsers import FieldError
from imports.tests.helpers import AFFIDO_HEADER, csv_bytes, run_file

VALID_CODE = "RSSMRA80A01H501U"


def address_problem(**values: Any) -> str:
    with translation.override("en"), pytest.raises(FieldError) as failed:
        check_address(values)
    return str(failed.value)


# The check alone


@pytest.mark.parametrize(
    "values",
    [
        {"city": "ROMA", "postcode": "00187", "province": "RM"},
        {"city": "Bozen", "postcode": "39100", "province": "BZ"},
        {"city": "SANT'ANGELO ROMANO", "postcode": "00010", "province": "RM"},
        {"city": "Samone", "postcode": "38059", "province": "TN"},
        {"city": "Milano", "postcode": "20100", "province": "MI"},
    ],
)
def test_a_consistent_address_passes_unchanged(values: dict[str, str]) -> None:
    assert check_address(values) == {}


def test_a_misspelt_comune_is_named_with_the_closest_one() -> None:
    assert address_problem(city="Milanoo", province="MI") == (
        "Comune 'Milanoo' not found in the ISTAT list; did you mean Milano?"
    )
    assert address_problem(city="Qwertyuiop") == (
        "Comune 'Qwertyuiop' not found in the ISTAT list; check its spelling"
    )


def test_a_comune_in_another_province_is_named() -> None:
    assert address_problem(city="Milano", province="MO") == (
        "Comune Milano is in province MI, not MO"
    )
    assert address_problem(city="Samone", province="MI") == (
        "Comune Samone is in province TN or TO, not MI"
    )


def test_a_postcode_of_another_comune_is_named_with_the_comune_s_postcodes() -> None:
    assert address_problem(city="Roma", postcode="20100", province="RM") == (
        "Postcode 20100 is not a postcode of Roma (00118\N{EN DASH}00199)"
    )
    assert address_problem(city="Torrice", postcode="03100") == (
        "Postcode 03100 is not a postcode of Torrice (03020)"
    )


def test_every_disagreement_of_a_row_is_named() -> None:
    assert address_problem(city="Milano", postcode="00187", province="XX") == (
        "'XX' is not an Italian province; write its abbreviation, such as MI; "
        "Postcode 00187 is not a postcode of Milano (20121\N{EN DASH}20162)"
    )


def test_a_postcode_that_lost_its_leading_zero_is_read_with_it() -> None:
    assert check_address({"city": "Roma", "postcode": "187", "province": "RM"}) == {}
    assert check_address({"city": "Torrice", "postcode": "3020", "province": "FR"}) == {}


def test_a_missing_province_is_filled_from_the_comune() -> None:
    assert check_address({"city": "Bolzano", "postcode": "39100"}) == {"province": "BZ"}
    assert check_address({"city": "Milano"}) == {"province": "MI"}
    # A namesake's province is told by the postcode, and stays empty without one.
    assert check_address({"city": "Samone", "postcode": "38059"}) == {"province": "TN"}
    assert check_address({"city": "Samone"}) == {}


def test_a_province_written_out_becomes_its_abbreviation() -> None:
    assert check_address({"city": "Roma", "province": "Roma"}) == {"province": "RM"}


def test_without_a_comune_nothing_is_checked() -> None:
    assert check_address({"postcode": "99999", "province": "XX"}) == {}


# Through an acquisition


def affido(postcode: str, city: str, province: str, contract: str = "0010007000") -> str:
    return (
        f"CMP-1;{contract};ROSSI MARIO;{VALID_CODE};VIA ROMA 1;{postcode};{city};{province};"
        "0612345678;;m@example.it;PRESTITO;1;15/08/2025;100,00;SDD"
    )


def acquire(creditor: Creditor, *lines: str) -> ImportJob:
    with translation.override("en"):
        return run_file(creditor, "compass-affido", csv_bytes(AFFIDO_HEADER, *lines))


def set_city_check(policy: str | None) -> None:
    layout = Layout.objects.get(slug="compass-affido")
    if policy is None:
        layout.columns["city"].pop("check", None)
    else:
        layout.columns["city"]["check"] = policy
    layout.save()


def messages(job: ImportJob) -> list[tuple[str, str]]:
    return list(
        ImportRow.objects.filter(job=job).order_by("number").values_list("outcome", "message")
    )


@pytest.mark.django_db
def test_the_compass_preset_warns_and_loads_the_case_with_the_address_as_read(
    compass: Creditor,
) -> None:
    job = acquire(compass, affido("20100", "ROMA", "RM"))

    assert job.counts["cases_created"] == 1
    assert job.counts["warnings"] == 1
    assert messages(job) == [
        (
            RowOutcome.CREATED,
            "Row 2, column COMUNE: Postcode 20100 is not a postcode of Roma "
            "(00118\N{EN DASH}00199)",
        )
    ]
    assert list(Address.objects.values_list("postcode", "city", "province")) == [
        ("20100", "ROMA", "RM")
    ]


@pytest.mark.django_db
def test_a_layout_that_rejects_keeps_the_case_out(compass: Creditor) -> None:
    set_city_check("reject")

    job = acquire(compass, affido("20121", "MILANO", "MO"))

    assert not Case.objects.exists()
    assert messages(job)[0] == (
        RowOutcome.ERROR,
        "Row 2, column COMUNE: Comune Milano is in province MI, not MO",
    )


@pytest.mark.django_db
def test_a_layout_that_does_not_ask_checks_no_address(compass: Creditor) -> None:
    set_city_check(None)

    job = acquire(compass, affido("20100", "ROMA", "RM"))

    assert job.counts["warnings"] == 0
    assert messages(job) == [(RowOutcome.CREATED, "")]


@pytest.mark.django_db
def test_real_addresses_load_without_warnings_and_get_their_province(compass: Creditor) -> None:
    job = acquire(
        compass,
        affido("39100", "BOLZANO/BOZEN", "BZ", "0010007001"),
        affido("00010", "SANT'ANGELO ROMANO", "RM", "0010007002"),
        affido("00187", "ROMA", "RM", "0010007003"),
        affido("3020", "TORRICE", "", "0010007004"),
    )

    assert job.counts["warnings"] == 0
    assert sorted(Address.objects.values_list("city", "postcode", "province")) == [
        ("BOLZANO/BOZEN", "39100", "BZ"),
        ("ROMA", "00187", "RM"),
        ("SANT'ANGELO ROMANO", "00010", "RM"),
        ("TORRICE", "03020", "FR"),
    ]
