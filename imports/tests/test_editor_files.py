"""A layout that reads an assignment sent as several files: each file's columns are checked
when the layout is saved, as the import will read them, never first at the upload."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import translation

from accounts.models import User
from imports.definitions import validate_definition
from imports.editor import (
    DOCUMENT_FORMAT,
    DefinitionError,
    definition_of,
    export_document,
    import_document,
)
from imports.models import Layout
from imports.tests.test_editor import definition, pre_invoice
from imports.tests.test_multifile import four_file_layout

pytestmark = pytest.mark.django_db

LAYOUT = "Axactor — affido in quattro file"


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def four_file_document() -> dict[str, Any]:
    """The four-file layout as another installation receives it."""
    layout = four_file_layout()
    document: dict[str, Any] = json.loads(json.dumps(export_document(layout)))
    layout.delete()
    return document


def test_a_layout_in_several_files_is_exported_and_imported_whole(admin_user: User) -> None:
    document = four_file_document()

    layout = import_document(document, user=admin_user)

    assert definition_of(layout) == {
        k: v for k, v in document.items() if k not in ("format", "version")
    }
    # Its own columns are not read: each file has its own.
    assert layout.columns == {}


def test_a_file_whose_column_is_not_a_header_is_refused_and_nothing_saved(
    admin_user: User,
) -> None:
    files = [
        {
            "name": "pratiche",
            "columns": {
                "contract_number": {"header": "Contratto"},
                "batch_code": {"header": "Lotto"},
            },
        },
        {
            "name": "debitori",
            "columns": {"contract_number": "Contratto", "debtor_name": {"header": "Nome"}},
        },
    ]
    document = {"format": DOCUMENT_FORMAT, "version": 1, **definition(files=files)}

    with pytest.raises(DefinitionError) as refused:
        import_document(document, user=admin_user)

    assert refused.value.messages == [
        "File debitori: The field Contract number has no column header."
    ]
    assert not Layout.objects.filter(slug="banca-esempio").exists()


def _changed(change: Callable[[list[dict[str, Any]]], Any]) -> dict[str, Any]:
    document = four_file_document()
    change(document["files"])
    return document


def _key_not_in_the_cases_file(files: list[dict[str, Any]]) -> None:
    files[3]["key"] = ["tax_code"]
    files[3]["columns"]["tax_code"] = {"header": "CODICE_FISCALE"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda files: files[1]["columns"].update(shoe_size={"header": "SCARPE"}),
            "File debitori: Unknown field “shoe_size” for this kind of file.",
        ),
        (
            lambda files: files[0]["columns"].pop("contract_number"),
            "File pratiche: Map a column to Contract number: this kind of file needs it.",
        ),
        (
            lambda files: files[0]["columns"]["creditor_reference"].update(optional=True),
            "File pratiche: Creditor reference cannot be optional: every file must have this "
            "column.",
        ),
        (
            lambda files: files[3]["columns"]["amount"].update(optional=True),
            "File dettaglio: Installment amount cannot be optional: every file must have this "
            "column.",
        ),
        (
            lambda files: files[3]["columns"].pop("amount"),
            "File dettaglio: Installments need a due date, an amount and a payment method: map "
            "Installment amount too.",
        ),
        (
            lambda files: files[3]["value_maps"]["payment_method"].update(RID="XYZ"),
            "File dettaglio: The code “RID” of Payment method maps to “XYZ”, which is not one "
            "of ours (SDD, BOL, BON, CAR, CON, ALT).",
        ),
        (
            lambda files: files[2]["value_maps"].update(iban={"X": "Y"}),
            "File garanti: There is a value map for IBAN, but no column is mapped to it.",
        ),
        (
            lambda files: files[1].update(key=5),
            "File debitori: The key must be a field or a list of fields.",
        ),
        (
            _key_not_in_the_cases_file,
            f"The layout “{LAYOUT}” is not valid: file dettaglio: its key tax_code must be a "
            "column of this file and of the cases file.",
        ),
        (
            lambda files: files[2].update(role="cousin"),
            f"The layout “{LAYOUT}” is not valid: file garanti: its role “cousin” is not one of "
            "main, co_obligor, guarantor.",
        ),
    ],
)
def test_each_file_is_checked_as_the_import_reads_it(
    change: Callable[[list[dict[str, Any]]], Any], message: str
) -> None:
    document = _changed(change)
    definition = {k: v for k, v in document.items() if k not in ("format", "version")}
    assert validate_definition(definition) == [message]


def test_only_a_portfolio_is_read_from_several_files() -> None:
    files = [{"name": "pagamenti", "columns": pre_invoice()["columns"]}]
    assert validate_definition({**pre_invoice(), "files": files}) == [
        "The layout “Banca Esempio” declares several files: only a portfolio can have them."
    ]
