from django.urls import path, register_converter

from imports import views, views_layouts


class ImportKindConverter:
    regex = "acquisition|unpaid|pre_invoice"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ReportFormatConverter(ImportKindConverter):
    regex = "xlsx|csv"


register_converter(ImportKindConverter, "import_kind")
register_converter(ReportFormatConverter, "report_format")


class HexTokenConverter(ImportKindConverter):
    regex = "[0-9a-f]{32}"


register_converter(HexTokenConverter, "hex")

app_name = "imports"

urlpatterns = [
    path("upload/<import_kind:kind>/", views.ImportUploadView.as_view(), name="upload"),
    path("jobs/", views.ImportJobListView.as_view(), name="list"),
    path("jobs/<int:pk>/", views.ImportJobDetailView.as_view(), name="job"),
    path("jobs/<int:pk>/progress/", views.ImportJobProgressView.as_view(), name="job-progress"),
    path(
        "jobs/<int:pk>/download.<report_format:fmt>",
        views.ImportJobDownloadView.as_view(),
        name="job-download",
    ),
    path("jobs/<int:pk>/file/", views.ImportJobFileView.as_view(), name="job-file"),
    path("jobs/<int:pk>/confirm/", views.ImportJobConfirmView.as_view(), name="job-confirm"),
    path("jobs/<int:pk>/undo/", views.ImportJobUndoView.as_view(), name="job-undo"),
    path(
        "jobs/<int:pk>/undo/panel/", views.ImportJobUndoPanelView.as_view(), name="job-undo-panel"
    ),
    path("layouts/", views_layouts.LayoutListView.as_view(), name="layout-list"),
    path("layouts/new/", views_layouts.LayoutSampleView.as_view(), name="layout-sample"),
    path("layouts/new/<hex:token>/", views_layouts.MappingView.as_view(), name="layout-new"),
    path(
        "layouts/new/<hex:token>/preview/",
        views_layouts.MappingPreviewView.as_view(),
        name="layout-new-preview",
    ),
    path("layouts/import/", views_layouts.LayoutImportView.as_view(), name="layout-import"),
    path("layouts/<int:pk>/", views_layouts.LayoutDetailView.as_view(), name="layout"),
    path("layouts/<int:pk>/edit/", views_layouts.MappingView.as_view(), name="layout-edit"),
    path(
        "layouts/<int:pk>/edit/preview/",
        views_layouts.MappingPreviewView.as_view(),
        name="layout-edit-preview",
    ),
    path(
        "layouts/<int:pk>/sample/",
        views_layouts.LayoutSampleForEditView.as_view(),
        name="layout-edit-sample",
    ),
    path(
        "layouts/<int:pk>/duplicate/",
        views_layouts.LayoutDuplicateView.as_view(),
        name="layout-duplicate",
    ),
    path(
        "layouts/<int:pk>/delete/", views_layouts.LayoutDeleteView.as_view(), name="layout-delete"
    ),
    path(
        "layouts/<int:pk>/export/", views_layouts.LayoutExportView.as_view(), name="layout-export"
    ),
]
