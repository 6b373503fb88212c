"""REST API over billing, scoped like the pages: commission terms, pre-invoices (their lines,
totals and documents, confirmation, FatturaPA export) and the commission overview.

Objects of creditors the user may not see answer 404; changes are for the back office and
administrators (`may_manage_billing`), others get 403. The rules are the services' and the
forms': a refusal is a 409 with `detail` and `code`, as in the cases API.
"""

from __future__ import annotations

import io
from typing import Any, cast

from django.db.models import Count, QuerySet, Sum
from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import AuditAction, User
from accounts.services import record_event
from billing import documents
from billing.fatturapa import InvoiceDetails, InvoiceInvalid, export_invoice, invoice_filename
from billing.filters import OverviewFilterSet, PreInvoiceFilterSet
from billing.models import CommissionTerms, PreInvoice
from billing.overview import monthly_figures, overview_totals, visible_payments
from billing.serializers import (
    CommissionTermsChangeSerializer,
    CommissionTermsCreateSerializer,
    CommissionTermsSerializer,
    InvoiceExportSerializer,
    OverviewSerializer,
    PreInvoiceCreateSerializer,
    PreInvoiceDetailSerializer,
    PreInvoiceListSerializer,
    terms_errors,
    terms_forms,
)
from billing.services import (
    BillingRefused,
    PreInvoiceLocked,
    confirm_pre_invoice,
    create_pre_invoice,
    may_manage_billing,
    recalculate_commissions,
    save_terms,
)
from cases.models import Payment
from creditors.models import Creditor

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

REFUSALS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description=gettext_lazy("Field errors.")),
    403: OpenApiResponse(description=gettext_lazy("Only back office and administrators.")),
    409: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=gettext_lazy(
            "`detail` and `code`: `locked` for a confirmed pre-invoice, `exists` for terms "
            "already set, `refused` for what the rules do not allow (nothing to gather, no "
            "payments to confirm, a draft to invoice)."
        ),
    ),
}


def current_user(request: Request) -> User:
    return cast(User, request.user)


def require_manager(request: Request) -> User:
    user = current_user(request)
    if not may_manage_billing(user):
        raise PermissionDenied(_("Only back office and administrators may change billing."))
    return user


def refused(error: BillingRefused) -> Response:
    code = "locked" if isinstance(error, PreInvoiceLocked) else "refused"
    return Response({"detail": str(error), "code": code}, status=status.HTTP_409_CONFLICT)


@extend_schema(tags=["billing"])
class CommissionTermsViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[CommissionTerms],
):
    """Commission terms of the creditors the user may see: the creditor's, and the batches'
    own. Saving is audited as on the terms page."""

    serializer_class = CommissionTermsSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_fields = ["creditor"]

    def get_queryset(self) -> QuerySet[CommissionTerms]:
        if getattr(self, "swagger_fake_view", False):
            return CommissionTerms.objects.none()
        return (
            CommissionTerms.objects.visible_to(current_user(self.request))
            .select_related("creditor", "batch")
            .prefetch_related("tiers")
        )

    def saved(self, terms: CommissionTerms, data: dict[str, Any], user: User) -> CommissionTerms:
        """Check the values with the page's forms, then save through the same service."""
        tiers = data.get("tiers")
        form, formset = terms_forms(
            terms,
            data["basis"],
            data["rate"],
            data.get("cap"),
            None if tiers is None else [(t["threshold"], t["rate"]) for t in tiers],
        )
        if form.errors or not formset.is_valid():
            raise ValidationError(terms_errors(form, formset))
        save_terms(form.save(commit=False), formset, user)
        return self.get_queryset().get(pk=terms.pk)

    @extend_schema(
        request=CommissionTermsCreateSerializer,
        responses={201: CommissionTermsSerializer, **REFUSALS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Set the terms of a creditor, or of one of its batches, that has none yet."""
        user = require_manager(request)
        given = CommissionTermsCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        creditor = (
            Creditor.objects.visible_to(user).filter(code__iexact=data["creditor"].strip()).first()
        )
        if creditor is None:
            raise ValidationError(
                {"creditor": [_("No creditor with code %(code)s.") % {"code": data["creditor"]}]}
            )
        batch = None
        if data.get("batch"):
            batch = creditor.batches.filter(code=data["batch"].strip()).first()
            if batch is None:
                raise ValidationError(
                    {
                        "batch": [
                            _("Creditor %(creditor)s has no batch %(batch)s.")
                            % {"creditor": creditor.code, "batch": data["batch"]}
                        ]
                    }
                )
        existing = CommissionTerms.objects.filter(creditor=creditor, batch=batch).first()
        if existing is not None:
            return Response(
                {
                    "detail": _("These terms exist already (id %(id)s): change them instead.")
                    % {"id": existing.pk},
                    "code": "exists",
                },
                status=status.HTTP_409_CONFLICT,
            )
        terms = self.saved(CommissionTerms(creditor=creditor, batch=batch), data, user)
        body = CommissionTermsSerializer(terms).data
        location = request.build_absolute_uri(
            reverse("api:commission-terms-detail", args=[terms.pk])
        )
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    @extend_schema(
        request=CommissionTermsChangeSerializer,
        responses={200: CommissionTermsSerializer, **REFUSALS},
    )
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change the terms; tiers given replace the old ones as a whole."""
        terms = self.get_object()
        user = require_manager(request)
        partial = kwargs.get("partial", False)
        given = CommissionTermsChangeSerializer(data=request.data, partial=partial)
        given.is_valid(raise_exception=True)
        current = {"basis": terms.basis, "rate": terms.rate, "cap": terms.cap}
        data = {**current, **given.validated_data} if partial else given.validated_data
        return Response(CommissionTermsSerializer(self.saved(terms, data, user)).data)

    @extend_schema(
        request=CommissionTermsChangeSerializer,
        responses={200: CommissionTermsSerializer, **REFUSALS},
    )
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change some of the terms; what is left out stays as it is."""
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema(tags=["billing"])
class PreInvoiceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[PreInvoice],
):
    """Pre-invoices of the creditors the user may see, newest period first; `?creditor=<id>` and
    `?state=draft|confirmed` filter them."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = PreInvoiceFilterSet

    def get_queryset(self) -> QuerySet[PreInvoice]:
        if getattr(self, "swagger_fake_view", False):
            return PreInvoice.objects.none()
        pre_invoices = PreInvoice.objects.visible_to(current_user(self.request)).select_related(
            "creditor", "confirmed_by"
        )
        if self.action == "list":
            # One join to payments, so the sums are not multiplied by any other.
            return pre_invoices.annotate(
                line_count=Count("payments"),
                collected=Sum("payments__amount"),
                commission=Sum("payments__commission"),
            ).order_by("-period_end", "-id")
        return pre_invoices

    def get_serializer_class(self) -> Any:
        return PreInvoiceListSerializer if self.action == "list" else PreInvoiceDetailSerializer

    def detail_response(self, pre_invoice: PreInvoice, code: int = status.HTTP_200_OK) -> Response:
        pre_invoice = self.get_queryset().get(pk=pre_invoice.pk)
        context = {
            **self.get_serializer_context(),
            "totals": documents.pre_invoice_totals(pre_invoice),
            "lines": documents.pre_invoice_lines(pre_invoice),
        }
        return Response(PreInvoiceDetailSerializer(pre_invoice, context=context).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The pre-invoice with its lines and totals, the figures of its page and documents."""
        return self.detail_response(self.get_object())

    @extend_schema(
        request=PreInvoiceCreateSerializer,
        responses={201: PreInvoiceDetailSerializer, **REFUSALS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Draft a pre-invoice of the creditor's commissioned payments of the period."""
        user = require_manager(request)
        given = PreInvoiceCreateSerializer(data=request.data, context={"request": request})
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            pre_invoice = create_pre_invoice(
                data["creditor"], data["period_start"], data["period_end"], user
            )
        except BillingRefused as error:
            return refused(error)
        response = self.detail_response(pre_invoice, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("api:pre-invoice-detail", args=[pre_invoice.pk])
        )
        return response

    @extend_schema(request=None, responses={200: PreInvoiceDetailSerializer, **REFUSALS})
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Confirm a draft: it gets the year's next number and is locked for good."""
        pre_invoice = self.get_object()
        user = require_manager(request)
        try:
            confirmed = confirm_pre_invoice(pre_invoice, user)
        except BillingRefused as error:
            return refused(error)
        return self.detail_response(confirmed)

    @extend_schema(request=None, responses={200: PreInvoiceDetailSerializer, **REFUSALS})
    @action(detail=True, methods=["post"])
    def recalculate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Compute a draft's commissions again with the current commission terms."""
        pre_invoice = self.get_object()
        user = require_manager(request)
        try:
            recalculate_commissions(pre_invoice, user)
        except BillingRefused as error:
            return refused(error)
        return self.detail_response(PreInvoice.objects.get(pk=pre_invoice.pk))

    @extend_schema(request=None, responses={(200, XLSX_TYPE): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def xlsx(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        """The pre-invoice as a spreadsheet, as the page's download."""
        pre_invoice = self.get_object()
        record_event(current_user(request), AuditAction.VIEW, pre_invoice, summary="XLSX download")
        stream = io.BytesIO()
        documents.write_xlsx(pre_invoice, stream)
        stream.seek(0)
        filename = documents.document_filename(pre_invoice, "xlsx")
        return FileResponse(stream, as_attachment=True, filename=filename, content_type=XLSX_TYPE)

    @extend_schema(request=None, responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, *args: Any, **kwargs: Any) -> FileResponse:
        """The pre-invoice as a PDF, as the page's download."""
        pre_invoice = self.get_object()
        record_event(current_user(request), AuditAction.VIEW, pre_invoice, summary="PDF download")
        stream = io.BytesIO(documents.write_pdf(pre_invoice))
        filename = documents.document_filename(pre_invoice, "pdf")
        return FileResponse(
            stream, as_attachment=True, filename=filename, content_type="application/pdf"
        )

    @extend_schema(
        request=InvoiceExportSerializer,
        responses={(200, "application/xml"): OpenApiTypes.BINARY, **REFUSALS},
    )
    @action(detail=True, methods=["post"])
    def fatturapa(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """The agency's FatturaPA invoice of a confirmed pre-invoice; its payments become
        invoiced. An invoice the exchange system would reject is a 400 with its `errors`."""
        pre_invoice = self.get_object()
        user = require_manager(request)
        given = InvoiceExportSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            xml = export_invoice(pre_invoice, InvoiceDetails(**given.validated_data), user)
        except InvoiceInvalid as error:
            return Response(
                {"detail": str(error), "code": "invalid", "errors": error.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        except BillingRefused as error:
            return refused(error)
        return FileResponse(
            io.BytesIO(xml),
            as_attachment=True,
            filename=invoice_filename(pre_invoice),
            content_type="application/xml",
        )


@extend_schema(tags=["billing"])
class CommissionOverviewViewSet(viewsets.GenericViewSet[Payment]):
    """Collected and commissioned amounts by month, creditor and batch, over the payments of
    the creditors the user may see; `?creditor=<id>`, `?batch=<id>`, `?paid_from=` and
    `?paid_to=` (YYYY-MM-DD) narrow them."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = OverviewFilterSet
    pagination_class = None

    def get_serializer_class(self) -> Any:
        return OverviewSerializer

    def get_queryset(self) -> QuerySet[Payment]:
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        return visible_payments(current_user(self.request))

    @extend_schema(responses={200: OverviewSerializer})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        figures = monthly_figures(self.filter_queryset(self.get_queryset()))
        collected, commission = overview_totals(figures)
        body = {"rows": figures, "total_collected": collected, "total_commission": commission}
        return Response(OverviewSerializer(body).data)
