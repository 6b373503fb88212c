"""The interface is Italian by default and English on request; the Italian catalogue is complete."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES"
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[sd]")
ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


@dataclass
class Entry:
    """One message of a PO file, with the line it starts on."""

    line: int
    flags: set[str] = field(default_factory=set)
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def msgid(self) -> str:
        return self.fields.get("msgid", "")

    @property
    def msgstrs(self) -> list[str]:
        return [value for key, value in self.fields.items() if key.startswith("msgstr")]


def unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: ESCAPES[match.group(1)], text.strip()[1:-1])


def read_po(path: Path) -> list[Entry]:
    """The entries of a PO file, header included, obsolete ones (#~) left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    key = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#~"):
            entry = None
            continue
        if entry is None:
            entry = Entry(number)
            entries.append(entry)
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry.fields[key] += unquote(line)
        else:
            key, _, value = line.partition(" ")
            entry.fields[key] = unquote(value)
    return [entry for entry in entries if "msgid" in entry.fields]


@pytest.fixture(scope="module")
def catalogue() -> list[Entry]:
    return read_po(LOCALE_DIR / "django.po")


def test_the_login_page_is_italian_by_default_and_english_on_request() -> None:
    client = Client()

    # An English browser still gets Italian: the agency's language is the default.
    italian = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    client.cookies["django_language"] = "en"
    english = client.get("/accounts/login/").content.decode()

    assert "Accedi" in italian
    assert "Ricordami" in italian
    assert "Sign in" not in italian
    assert "Sign in" in english
    assert "Remember me" in english
    assert "Accedi" not in english
    assert "signup" not in italian


def test_an_app_page_is_italian_by_default_and_english_on_request(
    client: Client, admin_user: User
) -> None:
    client.force_login(admin_user)

    italian = client.get(reverse("cases:list")).content.decode()
    client.cookies["django_language"] = "en"
    english = client.get(reverse("cases:list")).content.decode()

    assert '<html lang="it">' in italian
    assert "Pratiche" in italian
    assert "Aggiornamento insoluti" in italian
    assert "Esci" in italian
    assert "Cases" not in italian
    assert '<html lang="en">' in english
    assert "Cases" in english
    assert "Unpaid installments update" in english
    assert "Log out" in english
    assert "Pratiche" not in english


def test_the_italian_catalogue_has_no_untranslated_or_fuzzy_entry(catalogue: list[Entry]) -> None:
    header, messages = catalogue[0], catalogue[1:]

    assert header.msgid == ""
    assert "Language: it\n" in header.fields["msgstr"]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);\n" in header.fields["msgstr"]
    assert len(messages) > 100
    assert [entry.line for entry in catalogue if "fuzzy" in entry.flags] == []
    assert [(entry.line, entry.msgid) for entry in messages if not all(entry.msgstrs)] == []
    plurals = [entry for entry in messages if "msgid_plural" in entry.fields]
    assert plurals
    assert all(len(entry.msgstrs) == 2 for entry in plurals)


def test_translations_keep_every_placeholder(catalogue: list[Entry]) -> None:
    def placeholders(text: str) -> list[str]:
        return sorted(PLACEHOLDER.findall(text))

    wrong = [
        (entry.line, msgstr)
        for entry in catalogue[1:]
        for msgstr in entry.msgstrs
        if placeholders(msgstr)
        not in (placeholders(entry.msgid), placeholders(entry.fields.get("msgid_plural", "")))
    ]

    assert wrong == []


def test_the_compiled_catalogue_matches_the_po_file(catalogue: list[Entry]) -> None:
    with (LOCALE_DIR / "django.mo").open("rb") as compiled:
        translations = gettext.GNUTranslations(compiled)

    for entry in catalogue[1:]:
        if "msgid_plural" in entry.fields:
            plural = entry.fields["msgid_plural"]
            assert translations.ngettext(entry.msgid, plural, 1) == entry.fields["msgstr[0]"]
            assert translations.ngettext(entry.msgid, plural, 2) == entry.fields["msgstr[1]"]
        elif "msgctxt" in entry.fields:
            assert translations.pgettext(entry.fields["msgctxt"], entry.msgid) == entry.msgstrs[0]
        else:
            assert translations.gettext(entry.msgid) == entry.msgstrs[0]
