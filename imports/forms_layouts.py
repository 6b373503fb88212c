"""The layout editor's forms: the sample upload, the mapping grid, the JSON import."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from cases.models import PaymentMethod
from core.forms import style_widgets
from creditors.models import Creditor
from imports.checks import DEFAULT_POLICIES, CheckPolicy
from imports.definitions import checked_fields
from imports.editor import suggest_code, suggest_fields
from imports.fields import FIELDS
from imports.fields import PAYMENT_METHOD as PAYMENT_SPEC
from imports.models import ImportKind, Layout

SAMPLE_MAX_BYTES = 5 * 1024 * 1024
# Empty rows offered under a value map, for codes the sample did not show.
BLANK_CODE_ROWS = 2
POLICY_CHOICES = [
    (CheckPolicy.REJECT.value, gettext_lazy("reject the row")),
    (CheckPolicy.WARN.value, gettext_lazy("keep it, with a warning")),
]
# The layout's own fields, above the grid of its columns.
LAYOUT_FIELDS = ("name", "slug", "creditor", "sheet", "description")
DEFAULT_LABELS = {
    CheckPolicy.REJECT: gettext_lazy("default: reject the row"),
    CheckPolicy.WARN: gettext_lazy("default: keep it, with a warning"),
    None: gettext_lazy("default: not checked"),
}


def editable_kinds() -> list[tuple[str, str]]:
    return [(k.value, str(k.label)) for k in ImportKind if k.value in FIELDS]


class CreditorChoiceField(forms.ModelChoiceField[Creditor]):
    def label_from_instance(self, obj: Creditor) -> str:
        return f"{obj.code} — {obj.name}"


def _creditor_field(user: User) -> CreditorChoiceField:
    return CreditorChoiceField(
        label=gettext_lazy("Creditor"),
        queryset=Creditor.objects.visible_to(user),
        to_field_name="code",
        required=not user.sees_all_creditors,
        empty_label=gettext_lazy("Any creditor") if user.sees_all_creditors else "---------",
    )


class LayoutSampleForm(forms.Form):
    """Step 1: the creditor's sample file, and what the new layout is for."""

    file = forms.FileField(label=gettext_lazy("Sample file"))
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    kind = forms.ChoiceField(label=gettext_lazy("Kind of file"))
    sheet = forms.CharField(
        label=gettext_lazy("Sheet"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Excel files only; empty: the first sheet."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = editable_kinds()  # type: ignore[attr-defined]
        self.fields["creditor"] = _creditor_field(user)
        self.fields["file"].help_text = _(
            "CSV or Excel (.xlsx), up to %(limit)s: the first few hundred rows are enough."
        ) % {"limit": filesizeformat(SAMPLE_MAX_BYTES)}
        self.order_fields(["file", "kind", "creditor", "name", "sheet"])
        style_widgets(self)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        check_sample_size(upload.size)
        return upload


def check_sample_size(size: int) -> None:
    """A sample is read again on every change of the grid, so it must stay small."""
    if size > SAMPLE_MAX_BYTES:
        raise forms.ValidationError(
            _(
                "The sample is %(size)s; a sample of up to %(limit)s is enough (a few hundred "
                "rows): keep the first rows of the file and upload it again."
            )
            % {"size": filesizeformat(size), "limit": filesizeformat(SAMPLE_MAX_BYTES)}
        )


class LayoutMappingForm(forms.Form):
    """Step 2: one row per column of the file, each with the field it fills and its check.

    The value maps of coded fields (the payment method) are rows of code and our value; their
    inputs are named `vm-<field>-code-<n>` and `vm-<field>-ours-<n>`.
    """

    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    slug = forms.SlugField(label=gettext_lazy("Code"), max_length=50)
    sheet = forms.CharField(label=gettext_lazy("Sheet"), max_length=100, required=False)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(
        self,
        *args: Any,
        user: User,
        kind: str,
        headers: Sequence[str],
        codes: Mapping[int, list[str]] | None = None,
        layout: Layout | None = None,
        live_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.headers = list(headers)
        self.sample_codes = codes or {}
        self.layout = layout
        self.specs = FIELDS[kind]
        self.suggestions = suggest_fields(self.headers, kind)
        self.fields["creditor"] = _creditor_field(user)
        if layout is not None:
            self.fields["slug"].disabled = True
            self.fields["slug"].initial = layout.slug
        choices = [("", _("— not imported —"))] + [
            (name, str(spec.label)) for name, spec in self.specs.items()
        ]
        for index in range(len(self.headers)):
            self.fields[f"field_{index}"] = forms.ChoiceField(choices=choices, required=False)
            self.fields[f"optional_{index}"] = forms.BooleanField(required=False)
            default = DEFAULT_POLICIES.get(self._value(f"field_{index}"))
            self.fields[f"check_{index}"] = forms.ChoiceField(
                choices=[("", DEFAULT_LABELS[default]), *POLICY_CHOICES], required=False
            )
            self.fields[f"width_{index}"] = forms.IntegerField(min_value=1, required=False)
        self.order_fields(list(LAYOUT_FIELDS))
        style_widgets(self)
        if live_url:
            self._go_live(live_url)

    def _go_live(self, url: str) -> None:
        """Every change of a column posts the grid for the preview; a change of field also
        redraws the grid and the value maps, which depend on the fields chosen."""
        for name, field in self.fields.items():
            if name.split("_")[0] in ("field", "optional", "check", "width"):
                field.widget.attrs.update(
                    {"hx-post": url, "hx-trigger": "change", "hx-target": "#live-preview"}
                )
            if name.startswith("field_"):
                field.widget.attrs["hx-vals"] = '{"redraw": "1"}'

    def columns(self) -> list[dict[str, Any]]:
        """The grid's rows for the template: header, its inputs, and whether it is checked."""
        checked = checked_fields(self.kind)
        rows = []
        for index, header in enumerate(self.headers):
            name = self._value(f"field_{index}")
            suggestion = self.suggestions[index]
            rows.append(
                {
                    "index": index,
                    "header": header,
                    "field": self[f"field_{index}"],
                    "optional": self[f"optional_{index}"],
                    "check": self[f"check_{index}"],
                    "checked": name in checked,
                    "width": self[f"width_{index}"],
                    "identifier": name in self.specs and self.specs[name].identifier,
                    "suggested": self.specs[suggestion.field].label if suggestion.field else "",
                    "score": round(100 * suggestion.score),
                }
            )
        return rows

    def _value(self, key: str) -> str:
        value = self[key].value()
        return "" if value is None else str(value)

    def mapped(self) -> dict[str, int]:
        """Each chosen field and the column index it was chosen for (the first, if twice)."""
        chosen: dict[str, int] = {}
        for index in range(len(self.headers)):
            chosen.setdefault(self._value(f"field_{index}"), index)
        chosen.pop("", None)
        return chosen

    def value_maps(self) -> list[dict[str, Any]]:
        """The value map of each coded field mapped, as rows to show: the codes already
        entered or saved, then the sample's values not yet among them, then blank rows."""
        maps = []
        for name, index in self.mapped().items():
            if name not in self.specs or not self.specs[name].coded:
                continue
            rows = self._code_rows(name)
            known = {code.upper() for code, _ours in rows}
            for code in self.sample_codes.get(index, []):
                if code and code.upper() not in known:
                    rows.append((code, suggest_code(code)))
                    known.add(code.upper())
            rows += [("", "")] * BLANK_CODE_ROWS
            maps.append(
                {
                    "field": name,
                    "label": self.specs[name].label,
                    "header": self.headers[index],
                    "rows": rows,
                    "choices": [("", "—"), *PaymentMethod.choices],
                }
            )
        return maps

    def _code_rows(self, name: str) -> list[tuple[str, str]]:
        if not self.is_bound:
            saved = self.layout.value_maps.get(name, {}) if self.layout else {}
            return list(saved.items())
        rows = []
        prefix = f"vm-{name}-code-"
        for key in sorted((k for k in self.data if k.startswith(prefix)), key=_row_number):
            code = str(self.data.get(key, "")).strip()
            ours = str(self.data.get(f"vm-{name}-ours-{key[len(prefix) :]}", ""))
            if code:
                rows.append((code, ours))
        return rows

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first: dict[str, int] = {}
        for index, header in enumerate(self.headers):
            name = cleaned.get(f"field_{index}")
            if not name:
                continue
            if name in first:
                self.add_error(
                    f"field_{index}",
                    _("%(field)s is already the column “%(other)s”: choose it for one column only.")
                    % {"field": self.specs[name].label, "other": self.headers[first[name]]},
                )
            first.setdefault(name, index)
            if header.strip() == "":
                self.add_error(f"field_{index}", _("A column without a header cannot be mapped."))
        return cleaned

    def grid_is_valid(self) -> bool:
        """The columns and value maps are valid, whatever the name, code and creditor say: the
        preview can read the sample with them."""
        self.is_valid()
        return all(name in LAYOUT_FIELDS for name in self.errors)

    def definition(self) -> dict[str, Any]:
        """The layout the grid describes; call after is_valid() or grid_is_valid()."""
        data = self.cleaned_data
        saved = self.layout.columns if self.layout else {}
        columns: dict[str, dict[str, Any]] = {}
        for index, header in enumerate(self.headers):
            name = data.get(f"field_{index}")
            if not name or name in columns:
                continue
            column = dict(saved.get(name, {}))
            if column.get("header") != header:
                # Other names belong to the header they were given with.
                column = {k: v for k, v in column.items() if k != "aliases"}
            column["header"] = header
            # A check or a width hidden by the grid (the field has none) is not kept.
            checked, identifier = name in checked_fields(self.kind), self.specs[name].identifier
            for key, value in (
                ("optional", data.get(f"optional_{index}") or None),
                ("check", (data.get(f"check_{index}") or None) if checked else None),
                ("width", data.get(f"width_{index}") if identifier else None),
            ):
                column.pop(key, None)
                if value is not None:
                    column[key] = value
            columns[name] = column
        creditor = data.get("creditor")
        definition = {
            "slug": self.layout.slug if self.layout else data.get("slug", ""),
            "name": data.get("name", ""),
            "kind": self.kind,
            "creditor": creditor.code if creditor else None,
            "sheet": data.get("sheet") or "",
            "description": data.get("description") or "",
            "columns": columns,
            "value_maps": {
                m["field"]: {code: ours for code, ours in self._code_rows(m["field"]) if ours}
                for m in self.value_maps()
            },
        }
        # Maps the grid does not show (of fields that are not coded) stay as they were.
        saved_maps = self.layout.value_maps if self.layout else {}
        for name, codes in saved_maps.items():
            if name in columns and not self.specs.get(name, PAYMENT_SPEC).coded:
                definition["value_maps"][name] = codes
        definition["value_maps"] = {k: v for k, v in definition["value_maps"].items() if v}
        return definition


def _row_number(key: str) -> int:
    tail = key.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class LayoutImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Layout file (JSON)"),
        help_text=gettext_lazy("A layout exported from Incasso."),
    )
    replace = forms.BooleanField(
        label=gettext_lazy("Replace the layout with the same code, if there is one"),
        required=False,
        help_text=gettext_lazy("Built-in layouts are never replaced."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        style_widgets(self)
        self.fields["file"].widget.attrs["class"] = "form-control"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 1024 * 1024:
            raise forms.ValidationError(_("A layout file is a few kilobytes; this one is too big."))
        try:
            return json.loads(upload.read().decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise forms.ValidationError(
                _("The file is not JSON: export the layout again and upload that file.")
            ) from exc
