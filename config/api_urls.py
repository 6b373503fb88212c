"""The REST API under /api/; the schema is served beside it at /api/schema/."""

from rest_framework.routers import DefaultRouter

from cases.api import CaseViewSet, CreditorViewSet

app_name = "api"

router = DefaultRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("creditors", CreditorViewSet, basename="creditor")

urlpatterns = router.urls
