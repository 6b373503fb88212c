"""The layout editor's rules: field suggestions by header, JSON documents, saving (validation is
`imports.definitions`).

A layout is edited as a *definition*, a plain dict with the keys of `Layout` (the creditor by
its code): the editor's form, the JSON import and the command line all produce one, and one
validation decides whether it may be saved.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.models import AuditAction, User
from accounts.services import record_event
from cases.models import PaymentMethod
from creditors.models import Creditor
from imports.definitions import (
    DefinitionError,
    normalise,
    validate_definition,
)
from imports.fields import FIELDS
from imports.mapping import LayoutError, RowParser, row_error
from imports.models import Layout
from imports.presets import PAYMENT_CODES, PRESETS
from imports.readers import Cell, FileFormat, ReadError, open_table

DOCUMENT_FORMAT = "incasso-layout"
DOCUMENT_VERSION = 1
# Below this similarity a header gets no suggestion: a wrong guess costs more than none.
SUGGESTION_THRESHOLD = 0.6
SAMPLE_ROWS = 10
# Distinct values offered in a value map: codes are few; more means the column is not a code.
MAX_CODES = 30
_HEADER_SEARCH_ROWS = 30
COLUMN_SETTINGS = ("header", "aliases", "width", "optional", "check")

# Words creditors use for our fields, besides the fields' labels and the presets' headers.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "batch_code": ("lotto", "codice lotto", "affido"),
    "contract_number": ("pratica", "numero pratica", "contratto", "numero contratto"),
    "creditor_reference": ("id posizione", "riferimento", "codice posizione"),
    "original_creditor": ("cedente", "creditore originario"),
    "debtor_name": ("intestatario", "nominativo", "cognome nome", "debitore", "ragione sociale"),
    "debtor_surname": ("cognome",),
    "debtor_first_name": ("nome",),
    "tax_code": ("cf", "codice fiscale", "cod fiscale", "partita iva", "piva", "cf piva"),
    "birth_date": ("data nascita", "data di nascita", "nato il"),
    "street": ("via", "indirizzo", "indirizzo residenza"),
    "postcode": ("cap", "cap residenza"),
    "city": ("localita", "comune", "citta"),
    "province": ("prov", "provincia", "sigla provincia"),
    "phone": ("telefono", "tel", "telefono fisso"),
    "mobile": ("cellulare", "cell", "telefono cellulare"),
    "email": ("email", "mail", "posta elettronica", "pec"),
    "product": ("prodotto", "tipo prodotto"),
    "principal": ("capitale", "quota capitale"),
    "interest": ("interessi",),
    "charges": ("spese",),
    "total": ("totale", "totale debito", "debito residuo"),
    "acceleration_date": ("data decadenza", "decadenza"),
    "last_payment_date": ("data ultimo pagamento", "ultimo pagamento"),
    "installment_number": ("rata", "numero rata", "n rata"),
    "due_date": ("scadenza", "data scadenza", "scadenza rata"),
    "amount": ("importo rata", "importo", "rata importo"),
    "payment_method": ("modalita pagamento", "mod pagamento", "metodo pagamento", "pagamento"),
    "unpaid_on": ("data insoluto", "insoluto il"),
    "fees": ("spese protesto", "spese insoluto"),
}

# --- suggestions -----------------------------------------------------------------------------


def field_synonyms(kind: str) -> dict[str, set[str]]:
    """Each field of the kind with the normalised names a creditor may give its column."""
    names: dict[str, set[str]] = {}
    for name, spec in FIELDS.get(kind, {}).items():
        words = {normalise(name), *map(normalise, SYNONYMS.get(name, ()))}
        for language in ("en", "it"):
            with override(language):
                words.add(normalise(str(spec.label)))
        names[name] = words
    for preset in PRESETS:
        for name, column in preset["columns"].items():
            if name in names:
                names[name].update(
                    normalise(h) for h in [column["header"], *column.get("aliases", [])]
                )
    return names


def similarity(header: str, words: Iterable[str]) -> float:
    """How much a normalised header looks like the closest of the words, from 0 to 1."""
    best = 0.0
    for word in words:
        if header == word:
            return 1.0
        best = max(best, difflib.SequenceMatcher(None, header, word).ratio())
    return best


@dataclass(frozen=True)
class Suggestion:
    header: str
    field: str | None
    score: float


def suggest_fields(headers: Sequence[str], kind: str) -> list[Suggestion]:
    """The field each header most likely holds, each field given to one header only.

    The closest pairs are taken first, so "Importo rata" gets the amount before "Rata" can.
    """
    synonyms = field_synonyms(kind)
    normalised = [normalise(h) for h in headers]
    pairs = sorted(
        (
            (similarity(text, words), index, name)
            for index, text in enumerate(normalised)
            if text
            for name, words in synonyms.items()
        ),
        key=lambda pair: (-pair[0], pair[1]),
    )
    chosen: dict[int, tuple[str, float]] = {}
    taken: set[str] = set()
    for score, index, name in pairs:
        if score < SUGGESTION_THRESHOLD:
            break
        if index in chosen or name in taken:
            continue
        chosen[index] = (name, score)
        taken.add(name)
    return [
        Suggestion(header, *chosen.get(index, (None, 0.0))) for index, header in enumerate(headers)
    ]


def suggest_code(code: str) -> str:
    """Our payment method for a creditor's code, when the code says it plainly."""
    text = normalise(code).upper()
    if text in PaymentMethod.values:
        return text
    return PAYMENT_CODES.get(text, "")


# --- layouts as definitions and JSON documents -----------------------------------------------


def visible_layouts(user: User) -> QuerySet[Layout]:
    """The presets, the layouts for any creditor, and those of the creditors the user sees."""
    scope = user.creditor_scope()
    layouts = Layout.objects.select_related("creditor")
    if scope is None:
        return layouts
    return layouts.filter(Q(creditor__isnull=True) | Q(creditor__in=scope))


def definition_of(layout: Layout) -> dict[str, Any]:
    return {
        "slug": layout.slug,
        "name": layout.name,
        "kind": layout.kind,
        "creditor": layout.creditor.code if layout.creditor else None,
        "sheet": layout.sheet,
        "description": layout.description,
        "columns": layout.columns,
        "value_maps": layout.value_maps,
        "files": layout.files,
    }


def export_document(layout: Layout) -> dict[str, Any]:
    """The layout as a versioned JSON document, for another installation or a backup."""
    return {"format": DOCUMENT_FORMAT, "version": DOCUMENT_VERSION, **definition_of(layout)}


def read_document(document: Any) -> dict[str, Any]:
    """The definition inside a JSON document, or DefinitionError saying why it is not one."""
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        raise DefinitionError(
            [
                _("This is not a layout exported by Incasso (its “format” is not “%(format)s”).")
                % {"format": DOCUMENT_FORMAT}
            ]
        )
    if document.get("version") != DOCUMENT_VERSION:
        raise DefinitionError(
            [
                _(
                    "Layout documents of version %(version)s cannot be read; this installation "
                    "reads version %(known)s."
                )
                % {"version": document.get("version"), "known": DOCUMENT_VERSION}
            ]
        )
    known = {"format", "version", *definition_of(Layout()).keys()}
    unknown = sorted(set(document) - known)
    if unknown:
        raise DefinitionError(
            [_("Unknown keys in the document: %(keys)s.") % {"keys": ", ".join(unknown)}]
        )
    definition = {k: v for k, v in document.items() if k not in ("format", "version")}
    definition.setdefault("sheet", "")
    definition.setdefault("description", "")
    definition.setdefault("value_maps", {})
    definition.setdefault("files", [])
    return definition


def change_refusal(user: User | None, layout: Layout) -> str | None:
    """Why the user may not change or delete this layout; None when they may."""
    if layout.is_preset:
        return _("Built-in layouts cannot be changed: duplicate it and change the copy.")
    if layout.creditor_id is None and user is not None and not user.sees_all_creditors:
        return _("Only users who see every creditor may change a layout for any creditor.")
    return None


def delete_refusal(user: User | None, layout: Layout) -> str | None:
    refusal = change_refusal(user, layout)
    if refusal is not None:
        return refusal
    jobs = layout.jobs.count()
    if jobs:
        return _(
            "%(count)s import job(s) were processed with this layout and their results refer "
            "to it: it cannot be deleted. Create a new layout instead."
        ) % {"count": jobs}
    return None


def _creditor(code: str | None, user: User | None) -> Creditor | None:
    if not code:
        if user is not None and not user.sees_all_creditors:
            raise DefinitionError([_("Choose the creditor the layout is for.")])
        return None
    creditors = Creditor.objects.all() if user is None else Creditor.objects.visible_to(user)
    creditor = creditors.filter(code=code).first()
    if creditor is None:
        raise DefinitionError(
            [_("There is no creditor with the code “%(code)s”.") % {"code": code}]
        )
    return creditor


@transaction.atomic
def save_layout(
    definition: dict[str, Any], *, user: User | None, layout: Layout | None = None
) -> Layout:
    """Create a layout from a definition, or replace `layout`'s with it; audited.

    Its files (an assignment in several files) are kept as they are unless the definition
    carries its own.
    """
    errors = validate_definition(definition)
    if errors:
        raise DefinitionError(errors)
    creditor = _creditor(definition.get("creditor"), user)
    clash = Layout.objects.filter(slug=definition["slug"])
    if layout is not None:
        clash = clash.exclude(pk=layout.pk)
    if clash.exists():
        raise DefinitionError(
            [_("A layout with the code “%(slug)s” already exists.") % {"slug": definition["slug"]}]
        )
    before = None if layout is None else definition_of(layout)
    target = layout or Layout()
    target.slug = definition["slug"]
    target.name = definition["name"].strip()
    target.kind = definition["kind"]
    target.creditor = creditor
    target.sheet = definition.get("sheet") or ""
    target.description = definition.get("description") or ""
    target.columns = definition["columns"]
    target.value_maps = definition.get("value_maps") or {}
    if "files" in definition:
        target.files = definition["files"]
    target.save()
    action = AuditAction.CREATE if before is None else AuditAction.UPDATE
    record_event(
        user,
        action,
        target,
        summary=f"layout {target.slug}",
        before=before,
        after=definition_of(target),
    )
    return target


def import_document(document: Any, *, user: User | None, replace: bool = False) -> Layout:
    """Create the layout of a JSON document; one with the same code is replaced only when
    asked, and never a built-in one."""
    definition = read_document(document)
    existing = Layout.objects.filter(slug=definition.get("slug")).first()
    if existing is not None:
        if existing.is_preset:
            raise DefinitionError(
                [
                    _(
                        "“%(slug)s” is a built-in layout and is never replaced; change the code in "
                        "the document."
                    )
                    % {"slug": existing.slug}
                ]
            )
        if not replace:
            raise DefinitionError(
                [
                    _(
                        "A layout with the code “%(slug)s” already exists: choose to replace "
                        "it, or change the code in the document."
                    )
                    % {"slug": existing.slug}
                ]
            )
        if user is not None and not visible_layouts(user).filter(pk=existing.pk).exists():
            raise DefinitionError(
                [
                    _(
                        "The code “%(slug)s” belongs to another creditor's layout; change it in "
                        "the document."
                    )
                    % {"slug": existing.slug}
                ]
            )
        refusal = change_refusal(user, existing)
        if refusal is not None:
            raise DefinitionError([refusal])
    return save_layout(definition, user=user, layout=existing)


def free_slug(base: str) -> str:
    """`base`, or `base-2`, `base-3`... whichever no layout has yet."""
    base = (slugify(base) or "layout")[:45]
    taken = set(Layout.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    return next(
        s
        for s in itertools.chain([base], (f"{base}-{n}" for n in itertools.count(2)))
        if s not in taken
    )


def duplicate_layout(layout: Layout, *, user: User) -> Layout:
    """A copy the user may change: of a preset too, for one of the user's creditors."""
    definition = definition_of(layout)
    definition["slug"] = free_slug(f"{layout.slug}-copy")
    definition["name"] = _("%(name)s (copy)") % {"name": layout.name}
    if definition["creditor"] is None and not user.sees_all_creditors:
        creditors = Creditor.objects.visible_to(user)
        definition["creditor"] = creditors[0].code if len(creditors) == 1 else None
    return save_layout(definition, user=user)


@transaction.atomic
def delete_layout(layout: Layout, *, user: User) -> None:
    refusal = delete_refusal(user, layout)
    if refusal is not None:
        raise DefinitionError([refusal])
    record_event(
        user,
        AuditAction.DELETE,
        layout,
        summary=f"layout {layout.slug}",
        before=definition_of(layout),
    )
    layout.delete()


# --- a sample file and the preview of its rows -----------------------------------------------


@dataclass
class Sample:
    """The start of a creditor's file as the editor shows it."""

    format: FileFormat
    headers: list[str]
    rows: list[tuple[int, list[Cell]]]
    codes: dict[int, list[str]] = field(default_factory=dict)


def read_sample(data: bytes, filename: str, sheet: str = "") -> Sample:
    """Detect the file's format and header row, and keep its first rows.

    The header is the row among the first 30 with the most filled cells, the same row the
    import will find by the layout's headers; title lines above it are skipped.
    """
    first = open_table(data, filename, sheet=sheet or None)
    candidates = [(first.format.header_row, list[Cell](first.headers))]
    candidates += list(itertools.islice(first.rows, _HEADER_SEARCH_ROWS - 1))
    filled = [sum(1 for c in cells if c not in (None, "")) for _, cells in candidates]
    header_cells = candidates[filled.index(max(filled))][1]
    expected = [str(c) for c in header_cells if c not in (None, "")]
    table = open_table(data, filename, expected_headers=expected, sheet=sheet or None)
    rows: list[tuple[int, list[Cell]]] = []
    distinct: dict[int, dict[str, None]] = {i: {} for i in range(len(table.headers))}
    for number, cells in itertools.islice(table.rows, 1000):
        if len(rows) < SAMPLE_ROWS:
            rows.append((number, cells))
        for index, cell in enumerate(cells[: len(table.headers)]):
            # Codes may be numbers in a spreadsheet ("1" for direct debit).
            if isinstance(cell, str | int) and len(distinct[index]) <= MAX_CODES:
                distinct[index].setdefault(str(cell).strip().upper())
    codes = {i: list(values) for i, values in distinct.items() if len(values) <= MAX_CODES}
    return Sample(table.format, table.headers, rows, codes)


@dataclass
class PreviewRow:
    number: int
    values: list[Any]
    errors: str = ""
    warnings: str = ""


def preview_rows(definition: dict[str, Any], sample: Sample) -> tuple[list[str], list[PreviewRow]]:
    """The sample's first rows parsed with the definition as the import would parse them.

    Raises DefinitionError when the definition does not fit the sample as a whole.
    """
    layout = Layout(
        slug=definition.get("slug") or "preview",
        name=definition.get("name") or _("new layout"),
        kind=definition["kind"],
        columns=definition["columns"],
        value_maps=definition.get("value_maps") or {},
    )
    try:
        parser = RowParser(layout, sample.headers)
    except LayoutError as exc:
        raise DefinitionError([str(exc)]) from exc
    names = [name for name in FIELDS[layout.kind] if parser.has(name)]
    result = []
    for number, cells in sample.rows:
        warnings: list[str] = []
        values, errors = parser.parse(cells, names, warnings)
        result.append(
            PreviewRow(
                number,
                [values.get(name) for name in names],
                row_error(number, errors) if errors else "",
                row_error(number, warnings) if warnings else "",
            )
        )
    return names, result


def read_error_message(exc: ReadError) -> str:
    return str(exc)
