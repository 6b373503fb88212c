"""REST API over cases and creditors, scoped like the pages: cases read-only, payments
recorded, advanced and cancelled through the same services as the case page."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import AuditAction, User
from accounts.services import record_event
from cases.filters import CaseApiFilterSet
from cases.models import Case, Payment
from cases.payments import (
    PaymentLocked,
    PaymentRefused,
    advance_payment,
    cancel_payment,
    may_ask_to_cancel,
    may_confirm_payments,
    may_record_payments,
    record_payment,
)
from cases.queries import cases_for_list, cases_for_page, visible_payments
from cases.serializers import (
    CaseDetailSerializer,
    CaseSerializer,
    CreditorSerializer,
    PaymentAdvanceSerializer,
    PaymentCancelSerializer,
    PaymentDetailSerializer,
    PaymentRecordSerializer,
)
from creditors.models import Creditor


class CaseViewSet(viewsets.ReadOnlyModelViewSet[Case]):
    """Cases the user may see; opening one is audited like opening its page."""

    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseApiFilterSet

    def get_queryset(self) -> QuerySet[Case]:
        # The schema generator calls this with an anonymous user, who has no creditors.
        if getattr(self, "swagger_fake_view", False):
            return Case.objects.none()
        user = cast(User, self.request.user)
        return cases_for_page(user) if self.action == "retrieve" else cases_for_list(user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Case]]:
        return CaseDetailSerializer if self.action == "retrieve" else CaseSerializer

    def get_object(self) -> Case:
        case = super().get_object()
        record_event(cast(User, self.request.user), AuditAction.VIEW, case)
        return case


class CreditorViewSet(viewsets.ReadOnlyModelViewSet[Creditor]):
    """Creditors the user may see."""

    serializer_class = CreditorSerializer

    def get_queryset(self) -> QuerySet[Creditor]:
        if getattr(self, "swagger_fake_view", False):
            return Creditor.objects.none()
        return Creditor.objects.visible_to(cast(User, self.request.user))


REFUSALS = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=_("Field errors: no amount, a date in the future, a step not allowed."),
    ),
    403: OpenApiResponse(description=_("The user's role may not make this change.")),
    409: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=_(
            "`detail` and `code`: `locked` for a payment on a confirmed pre-invoice or "
            "commissioned by the creditor's file, `refused` for a closed case or a payment "
            "that can no longer be cancelled."
        ),
    ),
}


def refused(error: PaymentRefused) -> Response:
    """A refusal as the API gives it: a field error, or the reason with a code."""
    if error.field and not isinstance(error, PaymentLocked):
        return Response({error.field: [error.message]}, status=status.HTTP_400_BAD_REQUEST)
    return Response({"detail": error.message, "code": error.code}, status=status.HTTP_409_CONFLICT)


@extend_schema(
    tags=["payments"],
    parameters=[
        OpenApiParameter("case_pk", int, OpenApiParameter.PATH, description=_("The case's id."))
    ],
)
class PaymentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Payment]
):
    """Payments of a case the user may see, newest first, with allocations and history; the
    case of another creditor is not found."""

    serializer_class = PaymentDetailSerializer
    _case: Case | None = None

    def get_case(self) -> Case:
        if self._case is None:
            cases = Case.objects.visible_to(cast(User, self.request.user))
            self._case = get_object_or_404(cases, pk=self.kwargs["case_pk"])
        return self._case

    def get_queryset(self) -> QuerySet[Payment]:
        if getattr(self, "swagger_fake_view", False):
            return Payment.objects.none()
        return visible_payments(cast(User, self.request.user)).filter(case=self.get_case())

    def detail_response(self, payment: Payment, code: int = status.HTTP_200_OK) -> Response:
        payment = self.get_queryset().get(pk=payment.pk)
        return Response(self.get_serializer(payment).data, status=code)

    @extend_schema(
        request=PaymentRecordSerializer, responses={201: PaymentDetailSerializer, **REFUSALS}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Record a payment: it settles the oldest open installments, any surplus stays on it."""
        user = cast(User, request.user)
        case = self.get_case()
        if not may_record_payments(user):
            raise PermissionDenied(_("Your role may not record payments."))
        form = PaymentRecordSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            payment = record_payment(case, data["paid_on"], data["amount"], data["channel"], user)
        except PaymentRefused as error:
            return refused(error)
        response = self.detail_response(payment, status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(
            reverse("api:case-payment-detail", args=[case.pk, payment.pk])
        )
        return response

    @extend_schema(
        request=PaymentAdvanceSerializer, responses={200: PaymentDetailSerializer, **REFUSALS}
    )
    @action(detail=True, methods=["post"])
    def advance(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Move the payment one step forward: reported to collected (or commissioned),
        collected to commissioned, commissioned to invoiced."""
        user = cast(User, request.user)
        payment = self.get_object()
        if not may_confirm_payments(user):
            raise PermissionDenied(
                _("Only back office, team leaders and administrators may change a payment's state.")
            )
        form = PaymentAdvanceSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        try:
            advance_payment(payment, data["to_state"], user, on=data.get("on"))
        except PaymentRefused as error:
            return refused(error)
        return self.detail_response(payment)

    @extend_schema(request=PaymentCancelSerializer, responses={204: None, **REFUSALS})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Cancel a reported or collected payment: its installments get back what it settled."""
        user = cast(User, request.user)
        payment = self.get_object()
        if not may_ask_to_cancel(user, payment):
            raise PermissionDenied(_("Your role may not cancel this payment."))
        form = PaymentCancelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            cancel_payment(payment, user, form.validated_data["reason"])
        except PaymentRefused as error:
            return refused(error)
        return Response(status=status.HTTP_204_NO_CONTENT)
