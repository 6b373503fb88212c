from django.urls import path, register_converter

from imports import views


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
]
