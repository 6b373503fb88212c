"""The list of comuni shipped with the product, and how names and postcodes are looked up."""

from __future__ import annotations

import pytest

from core.places import normalise_postcode, places


@pytest.mark.parametrize("name", ["Bolzano/Bozen", "BOLZANO", "Bozen", "bolzano - bozen"])
def test_a_bilingual_comune_is_found_by_either_name(name: str) -> None:
    (comune,) = places().find(name)

    assert (comune.name, comune.province, comune.istat_code) == ("Bolzano/Bozen", "BZ", "021008")
    assert comune.region == "Trentino-Alto Adige/Südtirol"


@pytest.mark.parametrize(
    "name",
    [
        "Sant'Angelo Romano",
        "SANT'ANGELO ROMANO",
        "Sant\N{RIGHT SINGLE QUOTATION MARK}Angelo Romano",
        "S. Angelo Romano",
    ],
)
def test_apostrophes_and_saints_abbreviated_find_the_comune(name: str) -> None:
    (comune,) = places().find(name)

    assert (comune.name, comune.province) == ("Sant'Angelo Romano", "RM")


@pytest.mark.parametrize("name", ["Forlì", "FORLI'", "forli"])
def test_accents_written_as_apostrophes_or_left_out_find_the_comune(name: str) -> None:
    assert [c.province for c in places().find(name)] == ["FC"]


def test_hyphens_and_spaces_are_the_same() -> None:
    (comune,) = places().find("Castelbello Ciardes")

    assert comune.name == "Castelbello-Ciardes/Kastelbell-Tschars"


def test_common_short_names_are_known() -> None:
    assert [c.name for c in places().find("Reggio Emilia")] == ["Reggio nell'Emilia"]
    assert [c.name for c in places().find("REGGIO CALABRIA")] == ["Reggio di Calabria"]


def test_namesakes_in_two_provinces_are_both_found() -> None:
    assert sorted(c.province for c in places().find("Samone")) == ["TN", "TO"]


def test_a_city_with_many_postcodes_names_them_as_a_range() -> None:
    (rome,) = places().find("Roma")

    assert rome.has_postcode("00118")
    assert rome.has_postcode("00199")
    assert rome.postcodes_text() == "00118\N{EN DASH}00199"
    # The city-wide postcode of the years before districts had their own.
    assert rome.has_postcode("00100")
    assert not rome.has_postcode("20100")


@pytest.mark.parametrize(
    ("value", "postcode"), [(187, "00187"), ("187", "00187"), ("3020", "03020"), ("20121", "20121")]
)
def test_postcodes_get_their_leading_zeros_back(value: str | int, postcode: str) -> None:
    assert normalise_postcode(value) == postcode


def test_a_misspelt_comune_has_the_closest_name_suggested() -> None:
    assert places().find("Milanoo") == ()
    assert places().closest("Milanoo") == "Milano"
    assert places().closest("Xyzzyplugh") is None


@pytest.mark.parametrize(
    ("text", "sigla"),
    [
        ("MI", "MI"),
        ("mi", "MI"),
        ("Milano", "MI"),
        ("BOLZANO", "BZ"),
        ("Bozen", "BZ"),
        ("Aosta", "AO"),
        ("Reggio Emilia", "RE"),
        ("Reggio nell'Emilia", "RE"),
        ("Monza e Brianza", "MB"),
        ("Pesaro-Urbino", "PU"),
        ("Forlì-Cesena", "FC"),
        ("FO", "FC"),
        ("PS", "PU"),
        ("OT", "SS"),
    ],
)
def test_a_province_is_known_by_abbreviation_or_name(text: str, sigla: str) -> None:
    assert places().province_of(text) == sigla


def test_every_province_has_its_region_for_maps() -> None:
    provinces = places().provinces

    assert provinces["MI"] == "Lombardia"
    assert provinces["RM"] == "Lazio"
    assert all(provinces.values())
    # ISTAT's 107 provinces and metropolitan cities.
    assert len(provinces) == 107


def test_the_list_is_read_once_per_process() -> None:
    assert places() is places()
    assert len(places().comuni) > 7800
