"""What a layout definition must hold to be saved: known fields with a column each, the fields
its kind requires (never optional), value maps and checks of mapped fields, and for a layout
that reads several files, the same of each file.

`validate_definition` gives every reason as a sentence naming the column, field or file; the
layout editor, the JSON import and the command line all call it before saving.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from django.utils.text import slugify
from django.utils.translation import gettext as _

from cases.models import PaymentMethod
from imports.assignment import layout_parts, part_names
from imports.checks import DEFAULT_POLICIES, CheckPolicy
from imports.fields import FIELDS, FieldSpec
from imports.mapping import LayoutError
from imports.models import ImportKind, Layout

COLUMN_SETTINGS = ("header", "aliases", "width", "optional", "check")
# Fields a layout of each kind must map; a tuple inside means "one of these".
REQUIRED: dict[str, tuple[str | tuple[str, ...], ...]] = {
    ImportKind.ACQUISITION: (
        "contract_number",
        ("debtor_name", "debtor_surname", "debtor_first_name"),
    ),
    # The unpaid date and the fees tell an unpaid-installments file from a portfolio.
    ImportKind.UNPAID: (
        "contract_number",
        "due_date",
        "amount",
        "payment_method",
        "unpaid_on",
        "fees",
    ),
    # A payment is matched by batch, contract, date and amount.
    ImportKind.PRE_INVOICE: ("batch_code", "contract_number", "paid_on", "amount"),
}
# The longest texts the layout's columns hold, and the widest identifier (a contract number).
NAME_LENGTH = Layout._meta.get_field("name").max_length or 120
SLUG_LENGTH = Layout._meta.get_field("slug").max_length or 50
SHEET_LENGTH = Layout._meta.get_field("sheet").max_length or 100
MAX_WIDTH = 64
# An installment needs all three: a portfolio maps them together or not at all.
INSTALLMENT_FIELDS = ("due_date", "amount", "payment_method")


class DefinitionError(Exception):
    """A layout definition that cannot be saved; `messages` says every reason."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def normalise(text: str) -> str:
    """A header as compared: "C.A.P." is "cap", "Località" is "localita", "COD_FISCALE" is
    "cod fiscale"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace(".", "")
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def checked_fields(kind: str) -> set[str]:
    """The fields whose values are checked, so their column may say reject or warn."""
    return set(DEFAULT_POLICIES) if kind == ImportKind.ACQUISITION else set()


def validate_definition(definition: dict[str, Any]) -> list[str]:
    """Every reason the definition cannot be saved, as sentences naming the column or field."""
    kind = definition.get("kind")
    specs = FIELDS.get(str(kind))
    if specs is None:
        known = ", ".join(k for k in ImportKind.values if k in FIELDS)
        return [
            _("Unknown kind of file “%(kind)s”; use one of: %(known)s.")
            % {"kind": kind, "known": known}
        ]
    errors = _text_errors(definition)
    columns = definition.get("columns")
    if not isinstance(columns, dict):
        return [*errors, _("The layout has no columns.")]
    errors += _column_errors(columns, specs, str(kind))
    files = definition.get("files")
    # A layout that reads several files reads none of its own columns: each file has its own.
    if files in (None, []):
        errors += _required_errors(columns, specs, str(kind))
    errors += _value_map_errors(definition.get("value_maps"), columns, specs)
    if files not in (None, []):
        errors += _files_errors(definition, files, specs, str(kind))
    return errors


def _text_errors(definition: dict[str, Any]) -> list[str]:
    """The name, code, sheet and description: texts that fit their database columns."""
    errors: list[str] = []
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(_("Give the layout a name."))
    elif len(name.strip()) > NAME_LENGTH:
        errors.append(_("The name can have at most %(max)s characters.") % {"max": NAME_LENGTH})
    slug = definition.get("slug")
    if not isinstance(slug, str) or not slug or slugify(slug) != slug:
        errors.append(
            _("The code “%(slug)s” is not valid: use lower-case letters, digits and hyphens.")
            % {"slug": slug or ""}
        )
    elif len(slug) > SLUG_LENGTH:
        errors.append(_("The code can have at most %(max)s characters.") % {"max": SLUG_LENGTH})
    sheet = definition.get("sheet") or ""
    if not isinstance(sheet, str) or len(sheet) > SHEET_LENGTH:
        errors.append(
            _("The sheet must be a text of at most %(max)s characters.") % {"max": SHEET_LENGTH}
        )
    if not isinstance(definition.get("description") or "", str):
        errors.append(_("The description must be a text."))
    return errors


def _column_errors(columns: dict[str, Any], specs: dict[str, FieldSpec], kind: str) -> list[str]:
    errors: list[str] = []
    seen: dict[str, str] = {}
    for name, column in columns.items():
        if name not in specs:
            errors.append(_("Unknown field “%(field)s” for this kind of file.") % {"field": name})
            continue
        label = specs[name].label
        header = column.get("header") if isinstance(column, dict) else None
        if not isinstance(header, str) or not header.strip():
            errors.append(_("The field %(field)s has no column header.") % {"field": label})
            continue
        aliases = column.get("aliases", [])
        valid_aliases = aliases if isinstance(aliases, list) else []
        for text in [header, *(a for a in valid_aliases if isinstance(a, str))]:
            key = normalise(text)
            if key in seen and seen[key] != name:
                errors.append(
                    _("The column “%(column)s” is used for both %(first)s and %(second)s.")
                    % {"column": text, "first": specs[seen[key]].label, "second": label}
                )
            seen[key] = name
        errors += _setting_errors(name, column, label, kind)
    return errors


def _setting_errors(name: str, column: dict[str, Any], label: Any, kind: str) -> list[str]:
    errors: list[str] = []
    check = column.get("check")
    if check is not None and name not in checked_fields(kind):
        errors.append(_("The field %(field)s has no check to set.") % {"field": label})
    elif check is not None and check not in CheckPolicy.values:
        errors.append(
            _("The check on %(field)s is “%(check)s”: use “reject” or “warn”.")
            % {"field": label, "check": check}
        )
    width = column.get("width")
    if width is not None and (not isinstance(width, int) or isinstance(width, bool) or width < 1):
        errors.append(_("The width of %(field)s must be a positive number.") % {"field": label})
    elif width is not None and width > MAX_WIDTH:
        # Every value is padded to the width: a huge one would exhaust the memory.
        errors.append(
            _("The width of %(field)s can be at most %(max)s.") % {"field": label, "max": MAX_WIDTH}
        )
    aliases = column.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        errors.append(_("The other names of %(field)s must be a list of texts.") % {"field": label})
    return errors


def _required_errors(columns: dict[str, Any], specs: dict[str, FieldSpec], kind: str) -> list[str]:
    errors: list[str] = []
    groups = [(r,) if isinstance(r, str) else r for r in REQUIRED.get(kind, ())]
    for group in groups:
        if not any(name in columns for name in group):
            labels = " / ".join(str(specs[name].label) for name in group)
            errors.append(
                _("Map a column to %(field)s: this kind of file needs it.") % {"field": labels}
            )
    if kind == ImportKind.ACQUISITION:
        errors += _installment_errors(columns, specs)
        groups += _installment_groups(columns)
    return errors + _optional_errors(columns, specs, groups)


def _installment_errors(columns: dict[str, Any], specs: dict[str, FieldSpec]) -> list[str]:
    mapped = [name for name in INSTALLMENT_FIELDS if name in columns]
    if not mapped or len(mapped) == len(INSTALLMENT_FIELDS):
        return []
    missing = [str(specs[n].label) for n in INSTALLMENT_FIELDS if n not in columns]
    return [
        _("Installments need a due date, an amount and a payment method: map %(missing)s too.")
        % {"missing": ", ".join(missing)}
    ]


def _installment_groups(columns: dict[str, Any]) -> list[tuple[str, ...]]:
    """The installments' fields, each needed in every file once one of them is mapped."""
    if not any(name in columns for name in INSTALLMENT_FIELDS):
        return []
    return [(name,) for name in INSTALLMENT_FIELDS]


def _optional_errors(
    columns: dict[str, Any], specs: dict[str, FieldSpec], groups: Iterable[tuple[str, ...]]
) -> list[str]:
    """A column the import needs may not be missing from a file: of each group of fields (one
    of which is needed), a column mapped to one of them must not be optional."""
    errors: list[str] = []
    for group in groups:
        mapped = [n for n in group if n in specs and isinstance(columns.get(n), dict)]
        if not mapped or not all(columns[n].get("optional") for n in mapped):
            continue
        labels = " / ".join(str(specs[n].label) for n in mapped)
        if len(mapped) == 1:
            message = _("%(field)s cannot be optional: every file must have this column.")
        else:
            message = _(
                "%(field)s cannot all be optional: every file must have one of these columns."
            )
        errors.append(message % {"field": labels})
    return errors


def _value_map_errors(
    value_maps: Any, columns: dict[str, Any], specs: dict[str, FieldSpec]
) -> list[str]:
    if not value_maps:
        return []
    if not isinstance(value_maps, dict):
        return [_("The value maps must pair each field with its codes.")]
    errors: list[str] = []
    for name, codes in value_maps.items():
        if name in columns and name not in specs:
            # The unknown column says so already.
            continue
        if name not in columns:
            label = specs[name].label if name in specs else name
            errors.append(
                _("There is a value map for %(field)s, but no column is mapped to it.")
                % {"field": label}
            )
            continue
        if not isinstance(codes, dict) or not all(isinstance(v, str) for v in codes.values()):
            errors.append(
                _("The value map of %(field)s must pair codes with texts.")
                % {"field": specs[name].label}
            )
            continue
        if not specs[name].coded:
            # Other fields' maps are plain text replacements (a party's role, say).
            continue
        for code, ours in codes.items():
            if ours not in PaymentMethod.values:
                errors.append(
                    _(
                        "The code “%(code)s” of %(field)s maps to “%(ours)s”, which is not "
                        "one of ours (%(known)s)."
                    )
                    % {
                        "code": code,
                        "field": specs[name].label,
                        "ours": ours,
                        "known": ", ".join(PaymentMethod.values),
                    }
                )
    return errors


def _files_errors(
    definition: dict[str, Any], files: Any, specs: dict[str, FieldSpec], kind: str
) -> list[str]:
    """Each file of an assignment in several files, checked as `imports.assignment` reads it."""
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and isinstance(f.get("columns"), dict) for f in files
    ):
        return [_("The files must be a list, each with its columns.")]
    layout = Layout(name=str(definition.get("name")), kind=kind, files=files)
    errors: list[str] = []
    if kind == ImportKind.ACQUISITION:
        for position, name in enumerate(part_names(layout)):
            errors += [
                _("File %(part)s: %(error)s") % {"part": name, "error": error}
                for error in _part_errors(files[position], position, specs, kind)
            ]
    if errors:
        return errors
    # The links between the files, and a kind that cannot have several.
    try:
        layout_parts(layout)
    except LayoutError as exc:
        return [str(exc)]
    return []


def _part_errors(
    part: dict[str, Any], position: int, specs: dict[str, FieldSpec], kind: str
) -> list[str]:
    """The columns of one file: the first, the cases file, maps the contract; every file maps
    the key that links its rows to the cases, and whole installments."""
    columns = part["columns"]
    errors = _column_errors(columns, specs, kind)
    key = part.get("key") or ["contract_number"]
    keys = [key] if isinstance(key, str) else key
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        errors.append(_("The key must be a field or a list of fields."))
        keys = []
    if position == 0 and "contract_number" not in columns:
        errors.append(
            _("Map a column to %(field)s: this kind of file needs it.")
            % {"field": specs["contract_number"].label}
        )
    errors += _installment_errors(columns, specs)
    needed = dict.fromkeys(["contract_number", *keys] if position == 0 else keys)
    groups = [(name,) for name in needed] + _installment_groups(columns)
    errors += _optional_errors(columns, specs, groups)
    return errors + _value_map_errors(part.get("value_maps"), columns, specs)
