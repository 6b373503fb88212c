"""The layout editor's pages: list, sample upload, mapping grid with a live preview, JSON.

Everyone sees the layouts of the creditors they see; changing them is for those who may import.
"""

from __future__ import annotations

import json
import uuid
from pathlib import PurePath
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from imports.editor import (
    DefinitionError,
    Sample,
    change_refusal,
    definition_of,
    delete_layout,
    delete_refusal,
    duplicate_layout,
    export_document,
    free_slug,
    import_document,
    preview_rows,
    read_sample,
    save_layout,
    suggest_fields,
    validate_definition,
    visible_layouts,
)
from imports.fields import FIELDS
from imports.forms_layouts import (
    LayoutImportForm,
    LayoutMappingForm,
    LayoutSampleForm,
    check_sample_size,
)
from imports.models import ImportKind, Layout
from imports.readers import ReadError
from imports.views import current_user, file_format_facts

SAMPLES_KEY = "layout_samples"
# A session keeps the samples of its last few editors; older ones are forgotten.
SAMPLES_KEPT = 5


class LayoutMixin(LoginRequiredMixin):
    """Layouts of creditors the user may not see do not exist for them (404); changes need
    the right to import (403), like the upload pages."""

    request: HttpRequest
    needs_import_right = True

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if (
            request.user.is_authenticated
            and self.needs_import_right
            and not current_user(request).can_import
        ):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def get_layout(self, pk: int) -> Layout:
        return get_object_or_404(visible_layouts(current_user(self.request)), pk=pk)

    def changeable_layout(self, pk: int) -> Layout:
        layout = self.get_layout(pk)
        refusal = change_refusal(current_user(self.request), layout)
        if refusal is not None:
            raise PermissionDenied(refusal)
        return layout


# --- samples ---------------------------------------------------------------------------------


def store_sample(request: HttpRequest, data: bytes, filename: str, meta: dict[str, Any]) -> str:
    """Keep an uploaded sample for the editor's next requests; returns its token."""
    # TODO: samples of editors never saved stay in the media folder beyond the session's last
    # five; a periodic sweep of layout-samples/ would keep it from growing.
    token = uuid.uuid4().hex
    suffix = PurePath(filename).suffix.lower()[:10]
    path = default_storage.save(f"layout-samples/{token}{suffix}", ContentFile(data))
    samples = dict(request.session.get(SAMPLES_KEY, {}))
    samples[token] = {"path": path, "filename": filename, **meta}
    for old in list(samples)[:-SAMPLES_KEPT]:
        default_storage.delete(samples.pop(old)["path"])
    request.session[SAMPLES_KEY] = samples
    return token


def sample_meta(request: HttpRequest, token: str) -> dict[str, Any]:
    """The sample this session uploaded under the token; another session's is not found."""
    meta = request.session.get(SAMPLES_KEY, {}).get(token)
    if meta is None:
        raise Http404(_("The sample file is no longer available: upload it again."))
    return dict(meta)


def load_sample(meta: dict[str, Any], sheet: str) -> Sample:
    with default_storage.open(meta["path"], "rb") as stored:
        return read_sample(stored.read(), meta["filename"], sheet)


def forget_sample(request: HttpRequest, token: str) -> None:
    samples = dict(request.session.get(SAMPLES_KEY, {}))
    meta = samples.pop(token, None)
    if meta is not None:
        default_storage.delete(meta["path"])
        request.session[SAMPLES_KEY] = samples


# --- pages -----------------------------------------------------------------------------------


class LayoutListView(LayoutMixin, View):
    needs_import_right = False

    def get(self, request: HttpRequest) -> HttpResponse:
        user = current_user(request)
        layouts = visible_layouts(user).order_by("-is_preset", "kind", "name")
        return render(
            request,
            "imports/layouts/list.html",
            {"layouts": layouts, "may_edit": user.can_import},
        )


class LayoutDetailView(LayoutMixin, View):
    needs_import_right = False

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        layout = self.get_layout(pk)
        user = current_user(request)
        specs = FIELDS.get(layout.kind, {})
        columns = [
            (specs[name].label if name in specs else name, column)
            for name, column in layout.columns.items()
        ]
        context = {
            "layout": layout,
            "columns": columns,
            "value_maps": [
                (specs[name].label if name in specs else name, codes)
                for name, codes in layout.value_maps.items()
            ],
            "may_edit": user.can_import,
            "change_refusal": change_refusal(user, layout),
            "delete_refusal": delete_refusal(user, layout),
        }
        return render(request, "imports/layouts/detail.html", context)


class LayoutSampleView(LayoutMixin, View):
    """Step 1 of a new layout: the creditor's sample file and what the layout is for."""

    template_name = "imports/layouts/start.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(LayoutSampleForm(user=current_user(request)))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LayoutSampleForm(request.POST, request.FILES, user=current_user(request))
        if not form.is_valid():
            return self.page(form)
        data = form.cleaned_data
        upload = data["file"]
        content = upload.read()
        try:
            read_sample(content, upload.name, data["sheet"])
        except ReadError as exc:
            form.add_error("file", str(exc))
            return self.page(form)
        creditor = data["creditor"]
        meta = {
            "kind": data["kind"],
            "name": data["name"],
            "sheet": data["sheet"],
            "creditor": creditor.code if creditor else None,
        }
        token = store_sample(request, content, upload.name, meta)
        return redirect("imports:layout-new", token=token)

    def page(self, form: LayoutSampleForm) -> HttpResponse:
        return render(self.request, self.template_name, {"form": form})


class MappingView(LayoutMixin, View):
    """The mapping grid of a new layout (with its sample) or of an existing one (with a sample
    when one was uploaded for it); saving validates and audits, the preview answers htmx."""

    template_name = "imports/layouts/mapping.html"

    def setup_editor(self, request: HttpRequest, **kwargs: Any) -> None:
        self.layout: Layout | None = None
        self.token = kwargs.get("token") or request.GET.get("sample", "")
        self.meta: dict[str, Any] = sample_meta(request, self.token) if self.token else {}
        if "pk" in kwargs:
            self.layout = self.changeable_layout(kwargs["pk"])
        self.kind = self.layout.kind if self.layout else self.meta["kind"]
        self.sample: Sample | None = None
        self.read_error = ""
        if self.meta:
            sheet = request.POST.get(
                "sheet", self.layout.sheet if self.layout else self.meta["sheet"]
            )
            try:
                self.sample = load_sample(self.meta, sheet)
            except ReadError as exc:
                self.read_error = str(exc)

    def headers(self) -> list[str]:
        if self.sample is not None:
            return self.sample.headers
        return [
            column["header"] for column in (self.layout.columns.values() if self.layout else [])
        ]

    def form(self, data: Any) -> LayoutMappingForm:
        return LayoutMappingForm(
            data,
            user=current_user(self.request),
            kind=self.kind,
            headers=self.headers(),
            codes=self.sample.codes if self.sample else {},
            layout=self.layout,
            live_url=self.preview_url(),
        )

    def start_data(self) -> dict[str, Any]:
        """The grid as first shown: the layout's settings, or the suggestions for a new one."""
        headers = self.headers()
        suggestions = suggest_fields(headers, self.kind)
        if self.layout is None:
            # A sample uploaded to check a layout has no name nor creditor: the user gives them.
            name = self.meta.get("name") or ""
            data: dict[str, Any] = {
                "name": name,
                "slug": free_slug(name) if name else "",
                "creditor": self.meta.get("creditor") or "",
                "sheet": self.meta["sheet"],
            }
            for index, suggestion in enumerate(suggestions):
                data[f"field_{index}"] = suggestion.field or ""
            return data
        definition = definition_of(self.layout)
        data = {
            k: definition[k] or "" for k in ("name", "slug", "creditor", "sheet", "description")
        }
        by_header = {column["header"]: (n, column) for n, column in self.layout.columns.items()}
        for index, header in enumerate(headers):
            name, column = by_header.get(header, (suggestions[index].field or "", {}))
            data[f"field_{index}"] = name
            data[f"optional_{index}"] = bool(column.get("optional"))
            data[f"check_{index}"] = column.get("check", "")
            data[f"width_{index}"] = column.get("width") or ""
        for name, codes in self.layout.value_maps.items():
            for number, (code, ours) in enumerate(codes.items()):
                data[f"vm-{name}-code-{number}"] = code
                data[f"vm-{name}-ours-{number}"] = ours
        return data

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.setup_editor(request, **kwargs)
        return self.page(self.form(self.start_data()))

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.setup_editor(request, **kwargs)
        form = self.form(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            layout = save_layout(form.definition(), user=current_user(request), layout=self.layout)
        except DefinitionError as exc:
            return self.page(form, errors=exc.messages, status=400)
        if self.token:
            forget_sample(request, self.token)
        messages.success(request, _("The layout “%(name)s” was saved.") % {"name": layout.name})
        return redirect("imports:layout", pk=layout.pk)

    def preview_url(self) -> str:
        if self.layout is None:
            return reverse("imports:layout-new-preview", args=[self.token])
        url = reverse("imports:layout-edit-preview", args=[self.layout.pk])
        return f"{url}?sample={self.token}" if self.token else url

    def preview(self, form: LayoutMappingForm, definition: dict[str, Any] | None) -> dict[str, Any]:
        """The sample's first rows parsed with what the grid says now, and what is wrong."""
        if definition is None:
            return {
                "errors": [str(e) for e in form.non_field_errors()]
                or [_("Correct the columns marked in red.")]
            }
        errors = validate_definition({**definition, "slug": definition["slug"] or "x"})
        context: dict[str, Any] = {"errors": errors}
        if self.sample is None:
            return context
        try:
            context["names"], context["rows"] = preview_rows(definition, self.sample)
        except DefinitionError as exc:
            context["errors"] = [*errors, *exc.messages]
        specs = FIELDS[self.kind]
        context["labels"] = [specs[n].label for n in context.get("names", [])]
        return context

    def page(
        self,
        form: LayoutMappingForm,
        *,
        preview: dict[str, Any] | None = None,
        errors: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        if preview is None:
            preview = self.preview(form, form.definition() if form.grid_is_valid() else None)
        context = {
            "form": form,
            "layout": self.layout,
            "kind": ImportKind(self.kind),
            "sample": self.sample,
            "sample_name": self.meta.get("filename", ""),
            "read_error": self.read_error,
            "file_format": file_format_facts(_format_dict(self.sample)) if self.sample else [],
            "preview": preview,
            "save_errors": errors or [],
            "preview_url": self.preview_url(),
        }
        return render(self.request, self.template_name, context, status=status)


def _format_dict(sample: Sample) -> dict[str, Any]:
    fmt = sample.format
    return {
        "kind": fmt.kind,
        "encoding": fmt.encoding,
        "delimiter": fmt.delimiter,
        "sheet": fmt.sheet,
        "header_row": fmt.header_row,
    }


class MappingPreviewView(MappingView):
    """The live part of the grid: the parsed rows, and the value maps when a column's field
    changed (htmx posts the whole grid on every change)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.setup_editor(request, **kwargs)
        form = self.form(request.POST)
        definition = form.definition() if form.grid_is_valid() else None
        context = {
            "form": form,
            "preview": self.preview(form, definition),
            "redraw": request.POST.get("redraw") == "1",
            "preview_url": self.preview_url(),
        }
        return render(request, "imports/layouts/_live.html", context)


class LayoutSampleForEditView(LayoutMixin, View):
    """Upload a sample for an existing layout, to check it against a new file."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        layout = self.changeable_layout(pk)
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose a sample file."))
            return redirect("imports:layout-edit", pk=layout.pk)
        try:
            check_sample_size(upload.size or 0)
            content, filename = upload.read(), upload.name or "sample"
            read_sample(content, filename, layout.sheet)
        except (ReadError, ValidationError) as exc:
            messages.error(
                request, exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            )
            return redirect("imports:layout-edit", pk=layout.pk)
        meta = {"kind": layout.kind, "sheet": layout.sheet}
        token = store_sample(request, content, filename, meta)
        return redirect(reverse("imports:layout-edit", args=[layout.pk]) + f"?sample={token}")


class LayoutDuplicateView(LayoutMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        layout = self.get_layout(pk)
        try:
            copy = duplicate_layout(layout, user=current_user(request))
        except DefinitionError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("imports:layout", pk=layout.pk)
        messages.success(request, _("The copy “%(name)s” was created.") % {"name": copy.name})
        return redirect("imports:layout-edit", pk=copy.pk)


class LayoutDeleteView(LayoutMixin, View):
    template_name = "imports/layouts/delete.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        layout = self.get_layout(pk)
        refusal = delete_refusal(current_user(request), layout)
        return render(request, self.template_name, {"layout": layout, "refusal": refusal})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        layout = self.get_layout(pk)
        try:
            delete_layout(layout, user=current_user(request))
        except DefinitionError as exc:
            context = {"layout": layout, "refusal": exc.messages[0]}
            return render(request, self.template_name, context, status=409)
        messages.success(request, _("The layout “%(name)s” was deleted.") % {"name": layout.name})
        return redirect("imports:layout-list")


class LayoutExportView(LayoutMixin, View):
    needs_import_right = False

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        layout = self.get_layout(pk)
        text = json.dumps(export_document(layout), ensure_ascii=False, indent=2)
        response = HttpResponse(text + "\n", content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="layout-{layout.slug}.json"'
        return response


class LayoutImportView(LayoutMixin, View):
    template_name = "imports/layouts/import.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": LayoutImportForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LayoutImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                layout = import_document(
                    form.cleaned_data["file"],
                    user=current_user(request),
                    replace=form.cleaned_data["replace"],
                )
            except DefinitionError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(
                    request, _("The layout “%(name)s” was imported.") % {"name": layout.name}
                )
                return redirect("imports:layout", pk=layout.pk)
        return render(request, self.template_name, {"form": form}, status=400)
