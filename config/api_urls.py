"""The REST API under /api/; the schema is served beside it at /api/schema/."""

from rest_framework.routers import DefaultRouter

from billing.api import CommissionOverviewViewSet, CommissionTermsViewSet, PreInvoiceViewSet
from cases.api import CaseViewSet, CreditorViewSet, PaymentViewSet
from imports.api import ImportJobViewSet, ImportRowViewSet

app_name = "api"

router = DefaultRouter()
router.register("cases", CaseViewSet, basename="case")
router.register(r"cases/(?P<case_pk>\d+)/payments", PaymentViewSet, basename="case-payment")
router.register("creditors", CreditorViewSet, basename="creditor")
router.register("commission-terms", CommissionTermsViewSet, basename="commission-terms")
router.register("pre-invoices", PreInvoiceViewSet, basename="pre-invoice")
router.register("commission-overview", CommissionOverviewViewSet, basename="commission-overview")
router.register("imports", ImportJobViewSet, basename="import-job")
router.register(r"imports/(?P<job_pk>\d+)/rows", ImportRowViewSet, basename="import-row")

urlpatterns = router.urls
