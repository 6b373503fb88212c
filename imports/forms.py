"""The upload form: which creditor's file, read with which layout, applied or only previewed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from creditors.models import Creditor, CreditorQuerySet
from imports.assignment import part_names
from imports.models import ImportKind, Layout

DEFAULT_LAYOUTS: dict[str, str] = {
    ImportKind.UNPAID: "compass-insoluti",
    ImportKind.ACQUISITION: "compass-affido",
    ImportKind.PRE_INVOICE: "prefattura",
}


class LayoutChoiceField(forms.ModelChoiceField[Layout]):
    def label_from_instance(self, obj: Layout) -> str:
        # A creditor's own layout is told apart from the presets any creditor may use.
        return obj.name if obj.creditor is None else f"{obj.name} ({obj.creditor.code})"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """One file or several, cleaned to the list of uploads in the order given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        uploads = list(data) if isinstance(data, list | tuple) else [data]
        if not uploads:
            uploads = [None]
        return [super(MultipleFileField, self).clean(upload, initial) for upload in uploads]


class ImportUploadForm(forms.Form):
    creditor = forms.ModelChoiceField(label=_("Creditor"), queryset=Creditor.objects.none())
    layout = LayoutChoiceField(
        label=_("Layout"),
        queryset=Layout.objects.none(),
        help_text=_("How the creditor's columns map to ours."),
    )
    # An empty file is refused by the service, with a message that names the file. A layout
    # that reads an assignment sent as several files takes them all here.
    file = MultipleFileField(label=_("File"), allow_empty_file=True)
    dry_run = forms.BooleanField(
        label=_("Preview only (apply nothing)"),
        required=False,
        help_text=_("Shows what the file would change, without changing any case."),
    )

    def __init__(self, *args: Any, user: User, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        creditors = Creditor.objects.visible_to(user)
        self.fields["creditor"].queryset = creditors  # type: ignore[attr-defined]
        self.fields["layout"].queryset = (  # type: ignore[attr-defined]
            Layout.objects.filter(kind=kind)
            .filter(Q(creditor__isnull=True) | Q(creditor__in=creditors))
            .select_related("creditor")
            .order_by("-is_preset", "name")
        )
        self.fields["file"].help_text = _(
            "CSV, Excel (.xlsx, .xls) or OpenDocument (.ods), up to %(limit)s."
        ) % {"limit": filesizeformat(settings.INCASSO_MAX_UPLOAD_BYTES)}
        self.multi_file_layouts = [
            (layout.name, part_names(layout))
            for layout in self.fields["layout"].queryset  # type: ignore[attr-defined]
            if layout.files
        ]
        if not self.is_bound:
            self._preselect(creditors)
        for name, field in self.fields.items():
            css = {"file": "form-control", "dry_run": "form-check-input"}.get(name, "form-select")
            field.widget.attrs["class"] = css

    def _preselect(self, creditors: CreditorQuerySet) -> None:
        """Choose the creditor asked for (or the user's only one) and offer its layouts.

        Only an empty form narrows the layouts: a submitted one keeps every layout the user may
        use, so that one of another creditor is refused with a message naming the problem.
        """
        wanted = str(self.initial.get("creditor") or "")
        creditor = creditors.filter(pk=wanted).first() if wanted.isdigit() else None
        if creditor is None and len(creditors) == 1:
            creditor = creditors[0]
        self.initial["creditor"] = creditor
        if creditor is not None:
            field = self.fields["layout"]
            field.queryset = field.queryset.filter(  # type: ignore[attr-defined]
                Q(creditor__isnull=True) | Q(creditor=creditor)
            )
        if "layout" not in self.initial:
            self.initial["layout"] = Layout.objects.filter(
                slug=DEFAULT_LAYOUTS.get(self.kind)
            ).first()

    def clean_file(self) -> Any:
        """The first file; the others of an assignment sent as several files go to
        `more_files`, and the service tells which file is which."""
        uploads = self.cleaned_data["file"]
        limit = settings.INCASSO_MAX_UPLOAD_BYTES
        for upload in uploads:
            if upload is None or upload.size <= limit:
                continue
            message = _("The file is %(size)s; the largest file accepted is %(limit)s.")
            if len(uploads) > 1:
                message = _(
                    "The file %(name)s is %(size)s; the largest file accepted is %(limit)s."
                )
            raise forms.ValidationError(
                message
                % {
                    "name": upload.name,
                    "size": filesizeformat(upload.size),
                    "limit": filesizeformat(limit),
                },
                code="too_large",
            )
        self.cleaned_data["more_files"] = uploads[1:]
        return uploads[0]

    def more_files(self) -> list[tuple[str, bytes]]:
        """The files after the first, named and read, for `submit_import`."""
        return [(upload.name, upload.read()) for upload in self.cleaned_data.get("more_files", [])]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        creditor: Creditor | None = cleaned.get("creditor")
        layout: Layout | None = cleaned.get("layout")
        # A preset (no creditor) fits every creditor; a creditor's own layout fits only it.
        if creditor is None or layout is None or layout.creditor is None:
            return cleaned
        if layout.creditor != creditor:
            self.add_error(
                "layout",
                _("The layout “%(layout)s” is for %(owner)s, not for %(creditor)s.")
                % {"layout": layout.name, "owner": layout.creditor.code, "creditor": creditor.code},
            )
        return cleaned
