from django.urls import path

from creditors import views

app_name = "creditors"

urlpatterns = [
    path("", views.BatchListView.as_view(), name="batch-list"),
    path("<int:pk>/", views.BatchDetailView.as_view(), name="batch-detail"),
    path("<int:pk>/return/", views.BatchReturnView.as_view(), name="batch-return"),
    path("<int:pk>/end-of-mandate.xlsx", views.BatchReportView.as_view(), name="batch-report"),
]
