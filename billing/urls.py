from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.OverviewView.as_view(), name="overview"),
    path("terms/", views.TermsIndexView.as_view(), name="terms-index"),
    path("terms/<int:pk>/", views.CreditorTermsView.as_view(), name="creditor-terms"),
    path("terms/<int:pk>/edit/", views.TermsEditView.as_view(), name="terms-edit"),
    path(
        "terms/<int:pk>/batches/<int:batch_pk>/edit/",
        views.TermsEditView.as_view(),
        name="batch-terms-edit",
    ),
    path(
        "terms/<int:pk>/batches/<int:batch_pk>/delete/",
        views.BatchTermsDeleteView.as_view(),
        name="batch-terms-delete",
    ),
    path("pre-invoices/", views.PreInvoiceListView.as_view(), name="pre-invoice-list"),
    path("pre-invoices/new/", views.PreInvoiceCreateView.as_view(), name="pre-invoice-create"),
    path("pre-invoices/<int:pk>/", views.PreInvoiceDetailView.as_view(), name="pre-invoice-detail"),
    path(
        "pre-invoices/<int:pk>/confirm/",
        views.PreInvoiceConfirmView.as_view(),
        name="pre-invoice-confirm",
    ),
    path(
        "pre-invoices/<int:pk>/recalculate/",
        views.PreInvoiceRecalculateView.as_view(),
        name="pre-invoice-recalculate",
    ),
    path(
        "pre-invoices/<int:pk>/delete/",
        views.PreInvoiceDeleteView.as_view(),
        name="pre-invoice-delete",
    ),
    path(
        "pre-invoices/<int:pk>/remove-payments/",
        views.PreInvoiceRemovePaymentView.as_view(),
        name="pre-invoice-remove-payments",
    ),
    path(
        "pre-invoices/<int:pk>/document.xlsx",
        views.PreInvoiceXlsxView.as_view(),
        name="pre-invoice-xlsx",
    ),
    path(
        "pre-invoices/<int:pk>/document.pdf",
        views.PreInvoicePdfView.as_view(),
        name="pre-invoice-pdf",
    ),
    path(
        "pre-invoices/<int:pk>/fatturapa/", views.InvoiceExportView.as_view(), name="invoice-export"
    ),
]
