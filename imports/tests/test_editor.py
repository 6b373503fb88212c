"""The layout editor's rules: suggestions, validation, JSON documents, and the sample preview."""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook

from accounts.models import AuditAction, AuditEvent, User
from creditors.models import Creditor
from imports.editor import (
    DOCUMENT_FORMAT,
    DefinitionError,
    definition_of,
    delete_layout,
    duplicate_layout,
    export_document,
    import_document,
    normalise,
    preview_rows,
    read_sample,
    save_layout,
    suggest_fields,
    validate_definition,
    visible_layouts,
)
from imports.fields import FIELDS
from imports.models import ImportKind, Layout
from imports.tests.helpers import run_file

TITLE = "Banca Esempio S.p.A. - Affido pratiche al 01/12/2026"
HEADER = "Pratica n.;Intestatario;C.F.;Via;C.A.P.;Località;Prov.;Rata;Scadenza;Importo rata;Canale"
ROWS = (
    "BE-0001;ROSSI MARIO;RSSMRA80A01H501U;VIA ROMA 1;00184;ROMA;RM;1;15/01/2027;150,00;R",
    "BE-0001;ROSSI MARIO;RSSMRA80A01H501U;VIA ROMA 1;00184;ROMA;RM;2;15/02/2027;150,00;R",
    "BE-0002;BIANCHI LUCIA;BNCLCU75M41F205R;VIA TORINO 5;20123;MILANO;MI;1;31/01/2027;1.234,56;P",
)


def sample_bytes(*rows: str) -> bytes:
    return "\r\n".join((TITLE, HEADER, *rows, "")).encode("cp1252")


def definition(**changes: Any) -> dict[str, Any]:
    """A valid portfolio layout for the Banca Esempio file."""
    base: dict[str, Any] = {
        "slug": "banca-esempio",
        "name": "Banca Esempio",
        "kind": ImportKind.ACQUISITION.value,
        "creditor": None,
        "sheet": "",
        "description": "",
        "columns": {
            "contract_number": {"header": "Pratica n."},
            "debtor_name": {"header": "Intestatario"},
            "tax_code": {"header": "C.F.", "check": "reject"},
            "street": {"header": "Via"},
            "postcode": {"header": "C.A.P."},
            "city": {"header": "Località"},
            "province": {"header": "Prov."},
            "installment_number": {"header": "Rata"},
            "due_date": {"header": "Scadenza"},
            "amount": {"header": "Importo rata"},
            "payment_method": {"header": "Canale"},
        },
        "value_maps": {"payment_method": {"R": "SDD", "P": "BOL", "B": "BON"}},
    }
    return {**base, **changes}


def pre_invoice(**columns: dict[str, Any]) -> dict[str, Any]:
    """A valid pre-invoice layout, with the columns given added or replaced."""
    required = {
        "batch_code": {"header": "Lotto"},
        "contract_number": {"header": "Pratica"},
        "paid_on": {"header": "Data pagamento"},
        "amount": {"header": "Importo"},
    }
    return definition(
        slug="banca-prefattura", kind="pre_invoice", columns={**required, **columns}, value_maps={}
    )


def _with_column(name: str, **settings: Any) -> dict[str, Any]:
    columns = copy.deepcopy(definition()["columns"])
    columns[name] = {**columns[name], **settings}
    return definition(columns=columns)


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


# --- suggestions -----------------------------------------------------------------------------


def test_headers_are_compared_without_accents_case_or_punctuation() -> None:
    assert normalise("  Località ") == "localita"
    assert normalise("C.A.P.") == "cap"
    assert normalise("COD_FISCALE") == "cod fiscale"


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("CAP_RES", "postcode"),
        ("COD_FISCALE", "tax_code"),
        ("CODICE FISCALE", "tax_code"),
        ("Importo rata", "amount"),
        ("Data scadenza", "due_date"),
        ("C.F.", "tax_code"),
        ("Località", "city"),
        ("Num. Pratica", "contract_number"),
    ],
)
def test_a_known_header_gets_its_field(header: str, field: str) -> None:
    [suggestion] = suggest_fields([header], ImportKind.ACQUISITION)
    assert suggestion.field == field
    assert suggestion.score >= 0.8


def test_each_field_is_suggested_for_one_column_only_the_closest() -> None:
    suggestions = suggest_fields(["Rata", "Importo rata", "Importo"], ImportKind.ACQUISITION)
    assert [s.field for s in suggestions[:2]] == ["installment_number", "amount"]
    assert suggestions[2].field != "amount"


def test_a_header_like_no_field_gets_no_suggestion() -> None:
    [suggestion] = suggest_fields(["Zzz note interne"], ImportKind.ACQUISITION)
    assert suggestion.field is None
    assert suggestion.score == 0


def test_suggestions_only_offer_fields_of_the_kind() -> None:
    suggestions = suggest_fields(["Data insoluto", "Località"], ImportKind.UNPAID)
    assert suggestions[0].field == "unpaid_on"
    assert suggestions[1].field is None  # an unpaid-installments file has no city


# --- validation ------------------------------------------------------------------------------


def test_a_complete_definition_is_valid() -> None:
    assert validate_definition(definition()) == []


def test_required_fields_of_the_kind_are_named() -> None:
    columns = {"debtor_name": {"header": "Intestatario"}}
    assert validate_definition(definition(columns=columns, value_maps={})) == [
        "Map a column to Contract number: this kind of file needs it."
    ]
    unpaid = definition(kind="unpaid", columns={"contract_number": {"header": "N"}}, value_maps={})
    assert "Map a column to Unpaid on: this kind of file needs it." in validate_definition(unpaid)


def test_a_pre_invoice_layout_needs_what_a_payment_is_matched_by() -> None:
    columns = {"contract_number": {"header": "Pratica"}, "amount": {"header": "Importo"}}
    assert validate_definition(definition(kind="pre_invoice", columns=columns, value_maps={})) == [
        "Map a column to Batch: this kind of file needs it.",
        "Map a column to Paid on: this kind of file needs it.",
    ]


def test_installments_need_due_date_amount_and_method_together() -> None:
    columns = copy.deepcopy(definition()["columns"])
    del columns["payment_method"]
    assert validate_definition(definition(columns=columns, value_maps={})) == [
        "Installments need a due date, an amount and a payment method: map Payment method too."
    ]


def test_a_column_is_used_for_one_field_only() -> None:
    columns = copy.deepcopy(definition()["columns"])
    columns["street"] = {"header": "VIA", "aliases": []}
    columns["city"] = {"header": "Citta", "aliases": ["via"]}
    assert validate_definition(definition(columns=columns)) == [
        "The column “via” is used for both Address and City."
    ]


def test_unknown_fields_kinds_checks_and_value_maps_are_refused() -> None:
    columns = copy.deepcopy(definition()["columns"])
    columns["shoe_size"] = {"header": "Scarpe"}
    columns["street"]["check"] = "warn"
    columns["tax_code"]["check"] = "ignore"
    value_maps = {"payment_method": {"R": "XYZ"}}
    assert validate_definition(definition(columns=columns, value_maps=value_maps)) == [
        "The check on Tax code is “ignore”: use “reject” or “warn”.",
        "The field Address has no check to set.",
        "Unknown field “shoe_size” for this kind of file.",
        "The code “R” of Payment method maps to “XYZ”, which is not one of ours "
        "(SDD, BOL, BON, CAR, CON, ALT).",
    ]
    known = ", ".join(kind for kind in ImportKind.values if kind in FIELDS)
    assert validate_definition(definition(kind="invoice")) == [
        f"Unknown kind of file “invoice”; use one of: {known}."
    ]


def test_a_value_map_needs_its_field_mapped() -> None:
    columns = copy.deepcopy(definition()["columns"])
    for name in ("due_date", "amount", "payment_method"):
        del columns[name]
    assert validate_definition(definition(columns=columns)) == [
        "There is a value map for Payment method, but no column is mapped to it."
    ]


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (
            pre_invoice(amount={"header": "Importo", "optional": True}),
            "Amount paid cannot be optional: every file must have this column.",
        ),
        (
            _with_column("contract_number", optional=True),
            "Contract number cannot be optional: every file must have this column.",
        ),
        (
            _with_column("debtor_name", optional=True),
            "Debtor name cannot be optional: every file must have this column.",
        ),
        (
            # Due dates without amounts would be installments without an amount.
            _with_column("amount", optional=True),
            "Installment amount cannot be optional: every file must have this column.",
        ),
    ],
)
def test_a_column_the_import_needs_cannot_be_optional(
    changed: dict[str, Any], message: str
) -> None:
    assert validate_definition(changed) == [message]


def test_a_debtor_named_in_parts_needs_one_part_in_every_file() -> None:
    columns = copy.deepcopy(definition()["columns"])
    del columns["debtor_name"]
    columns["debtor_surname"] = {"header": "Cognome", "optional": True}
    columns["debtor_first_name"] = {"header": "Nome", "optional": True}
    assert validate_definition(definition(columns=columns)) == [
        "Debtor surname / Debtor first name cannot all be optional: every file must have one of "
        "these columns."
    ]
    columns["debtor_surname"] = {"header": "Cognome"}
    assert validate_definition(definition(columns=columns)) == []


def test_columns_a_file_may_lack_stay_optional() -> None:
    assert validate_definition(pre_invoice(debtor_name={"header": "Nome", "optional": True})) == []
    assert validate_definition(_with_column("street", optional=True)) == []


# --- saving, JSON documents ------------------------------------------------------------------


@pytest.mark.django_db
def test_export_then_import_gives_an_identical_layout(admin_user: User, compass: Creditor) -> None:
    files = [
        {
            "name": "anagrafica",
            "sheet": "",
            "columns": {"contract_number": {"header": "Pratica n."}},
            "value_maps": {},
            "key": [],
        }
    ]
    original = save_layout(definition(creditor="COMPASS", files=files), user=admin_user)
    document = json.loads(json.dumps(export_document(original)))
    assert document["format"] == DOCUMENT_FORMAT
    assert document["version"] == 1
    original.delete()

    imported = import_document(document, user=admin_user)

    assert definition_of(imported) == definition_of(original)
    assert imported.files == files
    assert imported.creditor == compass


@pytest.mark.django_db
def test_import_refuses_an_existing_code_unless_asked_and_never_a_preset(
    admin_user: User,
) -> None:
    layout = save_layout(definition(), user=admin_user)
    document = export_document(layout)
    document["name"] = "Banca Esempio v2"

    with pytest.raises(DefinitionError) as refused:
        import_document(document, user=admin_user)
    assert refused.value.messages == [
        "A layout with the code “banca-esempio” already exists: choose to replace it, or "
        "change the code in the document."
    ]

    replaced = import_document(document, user=admin_user, replace=True)
    assert replaced.pk == layout.pk
    assert replaced.name == "Banca Esempio v2"

    preset = export_document(Layout.objects.get(slug="compass-affido"))
    with pytest.raises(DefinitionError) as refused:
        import_document(preset, user=admin_user, replace=True)
    assert refused.value.messages == [
        "“compass-affido” is a built-in layout and is never replaced; change the code in the "
        "document."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            {"name": "x"},
            "This is not a layout exported by Incasso (its “format” is not “incasso-layout”).",
        ),
        (
            {"format": "incasso-layout", "version": 2},
            "Layout documents of version 2 cannot be read; this installation reads version 1.",
        ),
        (
            {"format": "incasso-layout", "version": 1, "colour": "red"},
            "Unknown keys in the document: colour.",
        ),
    ],
)
def test_import_refuses_what_is_not_a_layout_document(
    admin_user: User, document: dict[str, Any], message: str
) -> None:
    with pytest.raises(DefinitionError) as refused:
        import_document(document, user=admin_user)
    assert refused.value.messages == [message]
    assert not Layout.objects.filter(is_preset=False).exists()


@pytest.mark.django_db
def test_import_refuses_an_unknown_field_and_saves_nothing(admin_user: User) -> None:
    document = {"format": DOCUMENT_FORMAT, "version": 1, **definition()}
    document["columns"] = {**document["columns"], "colour": {"header": "Colore"}}
    with pytest.raises(DefinitionError) as refused:
        import_document(document, user=admin_user)
    assert refused.value.messages == ["Unknown field “colour” for this kind of file."]
    assert not Layout.objects.filter(slug="banca-esempio").exists()


@pytest.mark.django_db
def test_import_refuses_a_value_map_of_an_unknown_field_and_saves_nothing(
    admin_user: User,
) -> None:
    document = {"format": DOCUMENT_FORMAT, "version": 1, **pre_invoice(foo={"header": "Foo"})}
    document["value_maps"] = {"foo": {"A": "B"}}
    with pytest.raises(DefinitionError) as refused:
        import_document(document, user=admin_user)
    assert refused.value.messages == ["Unknown field “foo” for this kind of file."]
    assert not Layout.objects.filter(slug="banca-prefattura").exists()


@pytest.mark.django_db
def test_import_refuses_a_required_column_marked_optional_and_saves_nothing(
    admin_user: User,
) -> None:
    document = {
        "format": DOCUMENT_FORMAT,
        "version": 1,
        **pre_invoice(amount={"header": "Importo", "optional": True}),
    }
    with pytest.raises(DefinitionError) as refused:
        import_document(document, user=admin_user)
    assert refused.value.messages == [
        "Amount paid cannot be optional: every file must have this column."
    ]
    assert not Layout.objects.filter(slug="banca-prefattura").exists()


@pytest.mark.django_db
def test_a_scoped_user_saves_only_for_a_creditor_they_see(
    back_office: User, axactor: Creditor
) -> None:
    with pytest.raises(DefinitionError) as refused:
        save_layout(definition(), user=back_office)
    assert refused.value.messages == ["Choose the creditor the layout is for."]
    with pytest.raises(DefinitionError) as refused:
        save_layout(definition(creditor="AXACTOR"), user=back_office)
    assert refused.value.messages == ["There is no creditor with the code “AXACTOR”."]

    layout = save_layout(definition(creditor="COMPASS"), user=back_office)

    event = AuditEvent.objects.get(object_type="imports.layout", object_id=str(layout.pk))
    assert (event.action, event.user, event.before) == (AuditAction.CREATE, back_office, None)
    assert event.after is not None and event.after["columns"] == definition()["columns"]


@pytest.mark.django_db
def test_layouts_of_a_creditor_are_visible_only_to_who_sees_it(
    admin_user: User, back_office: User, other_operator: User
) -> None:
    layout = save_layout(definition(creditor="COMPASS"), user=admin_user)
    assert layout in visible_layouts(back_office)
    assert layout not in visible_layouts(other_operator)
    assert visible_layouts(other_operator).filter(slug="compass-affido").exists()


@pytest.mark.django_db
def test_a_layout_used_by_a_job_or_a_preset_is_not_deleted(
    back_office: User, compass: Creditor
) -> None:
    layout = save_layout(definition(creditor="COMPASS"), user=back_office)
    run_file(compass, layout.slug, sample_bytes(*ROWS), dry_run=True)

    with pytest.raises(DefinitionError) as refused:
        delete_layout(layout, user=back_office)
    assert refused.value.messages == [
        "1 import job(s) were processed with this layout and their results refer to it: it "
        "cannot be deleted. Create a new layout instead."
    ]
    with pytest.raises(DefinitionError) as refused:
        delete_layout(Layout.objects.get(slug="compass-affido"), user=back_office)
    assert refused.value.messages == [
        "Built-in layouts cannot be changed: duplicate it and change the copy."
    ]


@pytest.mark.django_db
def test_a_preset_is_duplicated_for_the_users_creditor(back_office: User) -> None:
    preset = Layout.objects.get(slug="compass-affido")
    copy_ = duplicate_layout(preset, user=back_office)
    assert (copy_.slug, copy_.is_preset, copy_.creditor.code if copy_.creditor else None) == (
        "compass-affido-copy",
        False,
        "COMPASS",
    )
    assert copy_.columns == preset.columns
    assert copy_.value_maps == preset.value_maps
    pk = copy_.pk
    delete_layout(copy_, user=back_office)
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_id=str(pk)).exists()


# --- the sample ------------------------------------------------------------------------------


def test_the_sample_header_is_found_below_a_title_line() -> None:
    sample = read_sample(sample_bytes(*ROWS), "banca_esempio.csv")
    assert (sample.format.encoding, sample.format.delimiter) == ("utf-8", ";") or (
        sample.format.encoding,
        sample.format.delimiter,
    ) == ("cp1252", ";")
    assert sample.format.header_row == 2
    assert sample.headers == HEADER.split(";")
    assert [number for number, _cells in sample.rows] == [3, 4, 5]
    assert sample.codes[10] == ["R", "P"]


def test_the_preview_parses_the_rows_as_the_import_would() -> None:
    sample = read_sample(sample_bytes(*ROWS, ROWS[0].replace("150,00", "12,3,4")), "b.csv")
    names, rows = preview_rows(definition(), sample)
    assert names[:2] == ["contract_number", "debtor_name"]
    amounts = [row.values[names.index("amount")] for row in rows]
    assert amounts == [Decimal("150.00"), Decimal("150.00"), Decimal("1234.56"), None]
    methods = [row.values[names.index("payment_method")] for row in rows]
    assert methods == ["SDD", "SDD", "BOL", "SDD"]
    assert [row.errors for row in rows[:3]] == ["", "", ""]
    assert rows[3].errors == "Row 6, column Importo rata: '12,3,4' is not an amount"


def test_the_preview_says_when_the_layout_does_not_fit_the_sample() -> None:
    sample = read_sample(sample_bytes(*ROWS), "b.csv")
    columns = {**definition()["columns"], "contract_number": {"header": "Numero"}}
    with pytest.raises(DefinitionError) as refused:
        preview_rows(definition(columns=columns), sample)
    assert refused.value.messages[0].startswith(
        "The file does not fit the layout “Banca Esempio”: column(s) Numero not found."
    )


@pytest.mark.django_db
def test_import_never_replaces_a_layout_of_a_creditor_the_user_does_not_see(
    admin_user: User, back_office: User, axactor: Creditor
) -> None:
    theirs = save_layout(definition(creditor="AXACTOR"), user=admin_user)
    document = export_document(theirs)
    document["creditor"] = "COMPASS"
    with pytest.raises(DefinitionError) as refused:
        import_document(document, user=back_office, replace=True)
    assert refused.value.messages == [
        "The code “banca-esempio” belongs to another creditor's layout; change it in the document."
    ]
    theirs.refresh_from_db()
    assert theirs.creditor == axactor


def test_an_excel_sample_is_read_below_its_title_with_numeric_codes() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Pratiche"
    sheet.append(["Banca Esempio - affido"])
    sheet.append(["Pratica n.", "Importo rata", "Canale"])
    sheet.append(["BE-0001", Decimal("150.00"), 1])
    sheet.append(["BE-0002", Decimal("75.50"), 2])
    buffer = io.BytesIO()
    workbook.save(buffer)

    sample = read_sample(buffer.getvalue(), "banca.xlsx")

    assert (sample.format.kind, sample.format.sheet, sample.format.header_row) == (
        "xlsx",
        "Pratiche",
        2,
    )
    assert sample.headers == ["Pratica n.", "Importo rata", "Canale"]
    assert sample.codes[2] == ["1", "2"]


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (definition(name=5), "Give the layout a name."),
        (definition(name="x" * 121), "The name can have at most 120 characters."),
        (definition(slug="a" * 51), "The code can have at most 50 characters."),
        (definition(sheet=3), "The sheet must be a text of at most 100 characters."),
        (definition(description=["a"]), "The description must be a text."),
        (definition(value_maps=["R"]), "The value maps must pair each field with its codes."),
        (definition(files="x"), "The files must be a list, each with its columns."),
        (definition(files=[{"name": "a"}]), "The files must be a list, each with its columns."),
        (
            _with_column("contract_number", aliases=[1, 2]),
            "The other names of Contract number must be a list of texts.",
        ),
        (
            _with_column("contract_number", width=10**9),
            "The width of Contract number can be at most 64.",
        ),
    ],
)
def test_a_document_of_the_wrong_shape_is_refused_with_a_message(
    changed: dict[str, Any], message: str
) -> None:
    """What a JSON document may hold, refused with a sentence rather than a crash, a value the
    database cannot store, or a width that pads each value to a billion zeros."""
    assert message in validate_definition(changed)
