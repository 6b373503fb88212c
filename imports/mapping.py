"""Map a file's columns to canonical fields by the layout, and parse each row's cells."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from cases.models import PaymentMethod
from imports import parsers
from imports.checks import (
    DEFAULT_POLICIES,
    ROW_CHECKS,
    VALUE_CHECKS,
    CheckPolicy,
    check_tax_code,
)
from imports.fields import FIELDS, MAX_LENGTHS, FieldSpec
from imports.models import ImportKind, Layout
from imports.readers import Cell, normalise_header

PAYMENT_METHODS = frozenset(PaymentMethod.values)
MEMO_SIZE = 50_000


class LayoutError(Exception):
    """The file does not fit the layout as a whole (a required column is missing)."""


@dataclass(frozen=True)
class Binding:
    spec: FieldSpec
    index: int
    header: str
    width: int | None
    codes: dict[str, str] = field(default_factory=dict)
    check: CheckPolicy | None = None


class RowParser:
    """Parses the cells of one row into canonical values, collecting every cell's error."""

    def __init__(self, layout: Layout, headers: Sequence[str]) -> None:
        specs = FIELDS[layout.kind]
        positions = {normalise_header(h): i for i, h in reversed(list(enumerate(headers))) if h}
        self.bindings: dict[str, Binding] = {}
        self._memo: dict[str, dict[str, Any]] = {name: {} for name in specs}
        missing: list[str] = []
        counts = Counter(normalise_header(h) for h in headers if h)
        # In the canonical order: PostgreSQL's jsonb does not keep the layout's key order.
        for name in (name for name in specs if name in layout.columns):
            column = layout.columns[name]
            names = [column["header"], *column.get("aliases", [])]
            index = next(
                (positions[n] for n in map(normalise_header, names) if n in positions), None
            )
            if index is None:
                if not column.get("optional"):
                    missing.append(column["header"])
                continue
            if counts[normalise_header(headers[index])] > 1:
                # Which of two same-named columns holds the value cannot be guessed.
                raise LayoutError(
                    _(
                        "The file has the column %(column)s more than once: keep one and "
                        "upload it again."
                    )
                    % {"column": headers[index]}
                )
            codes = {k.upper(): v for k, v in layout.value_maps.get(name, {}).items()}
            self.bindings[name] = Binding(
                specs[name],
                index,
                headers[index],
                column.get("width"),
                codes,
                check_policy(layout, name),
            )
        if missing:
            raise LayoutError(
                _(
                    "The file does not fit the layout “%(layout)s”: column(s) %(missing)s "
                    "not found. Columns in the file: %(found)s."
                )
                % {
                    "layout": layout.name,
                    "missing": ", ".join(missing),
                    "found": ", ".join(h for h in headers if h) or _("none"),
                }
            )

    def has(self, name: str) -> bool:
        return name in self.bindings

    def parse(
        self, cells: Sequence[Cell], names: Iterable[str], warnings: list[str] | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """Parse the named fields of a row; errors read "column X: message".

        Checked fields (tax code, phones, e-mail, IBAN, address) are checked after parsing: a
        failed check is an error, or, when the layout says "warn", a message added to
        `warnings` with the value kept as read.
        """
        values: dict[str, Any] = {}
        errors: list[str] = []
        to_check: list[Binding] = []
        width = len(cells)
        for name in names:
            binding = self.bindings.get(name)
            if binding is None:
                values[name] = None
                continue
            if binding.check is not None:
                to_check.append(binding)
            cell = cells[binding.index] if binding.index < width else None
            # Files repeat values (a case's fields on each installment row, the same due dates
            # across cases): the parsed values are immutable, so each text is parsed once.
            # Checks run outside the memo, so every case gets its own warning.
            memo = self._memo[name]
            try:
                values[name] = memo[cell]  # type: ignore[index]
                continue
            except (KeyError, TypeError):
                pass
            try:
                value = values[name] = self._parse_cell(binding, cell)
                if isinstance(value, str) and len(value) > MAX_LENGTHS.get(name, len(value)):
                    raise parsers.FieldError(
                        _("'%(value)s' is longer than %(max)s characters")
                        % {"value": value, "max": MAX_LENGTHS[name]}
                    )
            except parsers.FieldError as exc:
                errors.append(
                    _("column %(column)s: %(message)s") % {"column": binding.header, "message": exc}
                )
                continue
            if isinstance(cell, str):
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[cell] = value
        for binding in to_check:
            self._check(binding, values, errors, warnings)
        return values, errors

    def _check(
        self,
        binding: Binding,
        values: dict[str, Any],
        errors: list[str],
        warnings: list[str] | None,
    ) -> None:
        name = binding.spec.name
        value = values.get(name)
        if not value:
            return
        try:
            if name in ROW_CHECKS:
                values.update(ROW_CHECKS[name](values))
            elif name == "tax_code":
                values[name] = check_tax_code(value, values.get("birth_date"))
            else:
                values[name] = VALUE_CHECKS[name](value)
        except parsers.FieldError as exc:
            message = _("column %(column)s: %(message)s") % {
                "column": binding.header,
                "message": exc,
            }
            if binding.check == CheckPolicy.REJECT:
                errors.append(message)
            elif warnings is not None:
                warnings.append(message)

    def _parse_cell(self, binding: Binding, cell: Cell) -> Any:
        spec = binding.spec
        if cell is None:
            if spec.blank_ok:
                return None
            raise parsers.FieldError(_("the value is missing"))
        if spec.identifier:
            return parsers.parse_identifier(cell, width=binding.width)
        value = spec.parse(cell)
        if spec.coded:
            value = binding.codes.get(value, value)
            if value not in PAYMENT_METHODS:
                raise parsers.FieldError(
                    _("'%(code)s' is not a known payment method (%(known)s); map it in the layout")
                    % {"code": cell, "known": ", ".join(PaymentMethod.values)}
                )
        return value


def check_policy(layout: Layout, name: str) -> CheckPolicy | None:
    """What a failed check on the field does in this layout; None when it is not checked."""
    # Only a portfolio brings the debtor's identifiers and contacts.
    if layout.kind != ImportKind.ACQUISITION or name not in DEFAULT_POLICIES:
        return None
    policy = layout.columns[name].get("check", DEFAULT_POLICIES[name])
    if policy is None:
        return None
    if policy not in CheckPolicy.values:
        raise LayoutError(
            _(
                "The layout “%(layout)s” asks for the check “%(policy)s” on the column "
                "%(column)s: use “reject” or “warn”."
            )
            % {"layout": layout.name, "policy": policy, "column": layout.columns[name]["header"]}
        )
    return CheckPolicy(policy)


def row_error(number: int, errors: list[str]) -> str:
    """One message for a row's errors: "Row 12, column Importo: '12,3,4' is not an amount"."""
    return "; ".join(_("Row %(row)s, %(error)s") % {"row": number, "error": e} for e in errors)
