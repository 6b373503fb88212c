from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.CaseListView.as_view(), name="list"),
    path("<int:pk>/", views.CaseDetailView.as_view(), name="detail"),
    path("<int:pk>/payments/", views.PaymentRecordView.as_view(), name="payment-record"),
    path(
        "<int:pk>/payments/<int:payment_pk>/collect/",
        views.PaymentCollectView.as_view(),
        name="payment-collect",
    ),
    path(
        "<int:pk>/payments/<int:payment_pk>/cancel/",
        views.PaymentCancelView.as_view(),
        name="payment-cancel",
    ),
]
