"""Italian comuni with their province, region and postcodes (ISTAT's list, see core/data/).

The list is read once per process and kept in memory: a lookup is a dictionary access, so a
file of a million rows costs no query. Names are compared in a normalised form that forgives
case, accents, apostrophes, hyphens, "S." for "San"/"Santo"/"Santa" and either half of a
bilingual name ("Bolzano/Bozen", "Bozen").
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "comuni.csv"
POSTCODE_LENGTH = 5
# Words of a saint's name, spelled out or abbreviated ("S. Giovanni", "S.Maria", "Sant'Elia").
_SAINT_WORDS = frozenset({"s", "san", "santo", "santa", "sant", "santi", "ss", "st"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_NOT_WORD = re.compile(r"[\W_]+")
# Short forms everybody writes for a comune whose official name is longer.
COMMON_NAMES = {
    "Reggio Emilia": "Reggio nell'Emilia",
    "Reggio Calabria": "Reggio di Calabria",
}

# Provinces by the names and former abbreviations files still use: the short half of a
# bilingual or double name, and the siglas before the 2005 and 2016 reorganisations.
PROVINCE_COMMON_NAMES = {
    "Aosta": "AO",
    "Reggio Emilia": "RE",
    "Monza": "MB",
    "Monza e Brianza": "MB",
    "Pesaro": "PU",
    "Pesaro Urbino": "PU",
    "Forlì": "FC",
    "Massa": "MS",
    "Verbania": "VB",
    "Barletta": "BT",
}
FORMER_SIGLAS = {"FO": "FC", "PS": "PU", "CI": "SU", "VS": "SU", "OG": "NU", "OT": "SS"}


@dataclass(frozen=True, slots=True)
class Comune:
    """One comune as ISTAT lists it, with the postcodes Poste Italiane gives it."""

    istat_code: str
    name: str
    province: str
    province_name: str
    region: str
    cadastral_code: str
    postcodes: frozenset[str]

    def __str__(self) -> str:
        return self.name

    def has_postcode(self, postcode: str) -> bool:
        """Whether the postcode is this comune's; a city with several also answers to its
        general one ("20100" for Milano), which older files still carry."""
        if not self.postcodes or postcode in self.postcodes:
            return True
        return len(self.postcodes) > 1 and postcode == general_postcode(self.postcodes)

    def postcodes_text(self) -> str:
        """The postcodes to name in a message: the first and last, for a city with many."""
        ordered = sorted(self.postcodes)
        if len(ordered) <= 3:
            return ", ".join(ordered)
        return f"{ordered[0]}\N{EN DASH}{ordered[-1]}"


def general_postcode(postcodes: frozenset[str]) -> str | None:
    """The city-wide postcode of a city with postcodes per district: 00100 for Roma."""
    prefixes = {postcode[:3] for postcode in postcodes}
    return f"{prefixes.pop()}00" if len(prefixes) == 1 else None


def normalise_name(text: str) -> str:
    """The form in which two spellings of one comune's name are equal."""
    # Punctuation first, so that a typographic apostrophe separates words as a plain one does.
    spaced = _NOT_WORD.sub(" ", text)
    ascii_text = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    words = _NOT_ALNUM.sub(" ", ascii_text.lower()).split()
    return "".join("s" if word in _SAINT_WORDS else word for word in words)


def normalise_postcode(value: str | int) -> str:
    """A postcode as five digits: spreadsheets drop leading zeros (187 is 00187)."""
    text = str(value).strip()
    return text.zfill(POSTCODE_LENGTH) if text.isascii() and text.isdigit() else text


class Places:
    """The comuni, by normalised name, and the provinces by abbreviation (sigla)."""

    def __init__(self, comuni: list[Comune], aliases: dict[str, list[Comune]]) -> None:
        self.comuni = comuni
        self._by_name = {key: tuple(found) for key, found in aliases.items()}
        self.provinces: dict[str, str] = {c.province: c.region for c in comuni}
        self.province_names: dict[str, str] = {c.province: c.province_name for c in comuni}
        self._province_by_name = {
            normalise_name(name): sigla for name, sigla in PROVINCE_COMMON_NAMES.items()
        }
        for sigla, name in self.province_names.items():
            for spelling in (name, *name.split("/")):
                self._province_by_name[normalise_name(spelling)] = sigla
        self._keys = list(self._by_name)
        self._display = {key: found[0].name for key, found in self._by_name.items()}

    # Files repeat a few thousand spellings over their rows: each is normalised once.
    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one instance per process, never freed
    def find(self, name: str) -> tuple[Comune, ...]:
        """The comuni of that name: none, one, or several namesakes in different provinces."""
        return self._by_name.get(normalise_name(name), ())

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - one instance per process, never freed
    def closest(self, name: str) -> str | None:
        """The name of the comune most like a name that is not in the list, if any is close."""
        found = difflib.get_close_matches(normalise_name(name), self._keys, n=1, cutoff=0.8)
        return self._display[found[0]] if found else None

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - one instance per process, never freed
    def province_of(self, text: str) -> str | None:
        """The sigla of a province given by its sigla, a former sigla or its name ("MI",
        "Milano", "Bolzano", "FO" for Forlì-Cesena)."""
        sigla = text.strip().upper()
        if sigla in self.provinces:
            return sigla
        if sigla in FORMER_SIGLAS:
            return FORMER_SIGLAS[sigla]
        return self._province_by_name.get(normalise_name(text))


def _read(path: Path) -> Places:
    comuni: list[Comune] = []
    aliases: dict[str, list[Comune]] = {}
    with path.open(encoding="utf-8", newline="") as data:
        for row in csv.DictReader(data, delimiter=";"):
            comune = Comune(
                istat_code=row["istat_code"],
                name=row["name"],
                province=row["province"],
                province_name=row["province_name"],
                region=row["region"],
                cadastral_code=row["cadastral_code"],
                postcodes=frozenset(row["postcodes"].split()),
            )
            comuni.append(comune)
            names = {row["name"], row["name_italian"], *row["name_other"].split("/")}
            names.update(short for short, name in COMMON_NAMES.items() if name == row["name"])
            for key in {normalise_name(name) for name in names if name}:
                aliases.setdefault(key, []).append(comune)
    return Places(comuni, aliases)


@functools.cache
def places() -> Places:
    """The list of comuni, read from the file shipped with the product on first use."""
    return _read(DATA_FILE)
