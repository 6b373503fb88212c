"""Case list and case page."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView

from accounts.models import AuditAction, User
from accounts.services import record_event
from cases.filters import CaseFilterSet
from cases.forms import PaymentCancelForm, PaymentForm
from cases.models import Case, Payment, PaymentState
from cases.payments import (
    PaymentRefused,
    advance_payment,
    cancel_payment,
    may_ask_to_cancel,
    may_cancel,
    may_confirm_payments,
    may_record_payments,
    record_payment,
)
from cases.queries import cases_for_list, cases_for_page, visible_payments
from cases.tables import CaseTable
from core.tables import FixedPageSizeMixin
from core.templatetags.money import euro


class CaseListView(LoginRequiredMixin, FixedPageSizeMixin, FilterView):
    """The home page: the cases the user may see, filtered, searched and paginated."""

    table_class = CaseTable
    filterset_class = CaseFilterSet
    table_pagination = {"per_page": 50}
    template_name = "cases/case_list.html"

    def get_queryset(self) -> QuerySet[Case]:
        return cases_for_list(cast(User, self.request.user))


class CaseDetailView(LoginRequiredMixin, DetailView):
    """One case, from the total requested down to the notes; every opening is audited."""

    template_name = "cases/case_detail.html"
    context_object_name = "case"
    payment_form: PaymentForm | None = None

    def get_queryset(self) -> QuerySet[Case]:
        # Scoping here makes a case of another creditor a 404, indistinguishable from a missing one.
        return cases_for_page(cast(User, self.request.user))

    def get_object(self, queryset: QuerySet[Case] | None = None) -> Case:
        case = super().get_object(queryset)
        record_event(cast(User, self.request.user), AuditAction.VIEW, case)
        return case

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = cast(User, self.request.user)
        case = cast(Case, self.object)
        context["may_record_payments"] = case.is_open and may_record_payments(user)
        context["may_confirm_payments"] = may_confirm_payments(user)
        context["payment_form"] = self.payment_form or PaymentForm(case=case)
        context["payment_rows"] = [
            (payment, may_cancel(user, payment)) for payment in case.payments.all()
        ]
        return context


class PaymentRecordView(CaseDetailView):
    """Record a payment from the case page; an invalid form comes back on the page itself."""

    http_method_names = ["post"]

    def get_object(self, queryset: QuerySet[Case] | None = None) -> Case:
        # Recording is audited by the service; this is not an opening of the case.
        return super(CaseDetailView, self).get_object(queryset)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = cast(User, request.user)
        self.object = case = self.get_object()
        if not may_record_payments(user):
            raise PermissionDenied
        form = PaymentForm(request.POST, case=case)
        if form.is_valid():
            data = form.cleaned_data
            try:
                payment = record_payment(
                    case, data["paid_on"], data["amount"], data["channel"], user
                )
            except PaymentRefused as error:
                form.add_error(error.field, error.message)
            else:
                messages.success(
                    request,
                    _("Payment of %(amount)s recorded.") % {"amount": euro(payment.amount)},
                )
                return HttpResponseRedirect(payments_url(case.pk))
        self.payment_form = form
        return self.render_to_response(self.get_context_data())


def payments_url(case_pk: int) -> str:
    return reverse("cases:detail", args=[case_pk]) + "#payments"


class PaymentActionView(LoginRequiredMixin, View):
    """A change to one payment of a visible case; a refused change comes back as a message."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int, payment_pk: int) -> HttpResponse:
        user = cast(User, request.user)
        payment = get_object_or_404(visible_payments(user), case_id=pk, pk=payment_pk)
        try:
            self.change(user, payment)
        except PaymentRefused as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(payments_url(pk))

    def change(self, user: User, payment: Payment) -> None:
        raise NotImplementedError


class PaymentCollectView(PaymentActionView):
    """Mark a reported payment as collected today: the money was seen."""

    def change(self, user: User, payment: Payment) -> None:
        if not may_confirm_payments(user):
            raise PermissionDenied
        advance_payment(payment, PaymentState.COLLECTED, user)
        messages.success(self.request, _("Payment marked collected."))


class PaymentCancelView(PaymentActionView):
    """Cancel a payment not yet recognised by the creditor, with a reason."""

    def change(self, user: User, payment: Payment) -> None:
        if not may_ask_to_cancel(user, payment):
            raise PermissionDenied
        form = PaymentCancelForm(self.request.POST)
        if not form.is_valid():
            raise PaymentRefused(" ".join(str(e) for e in form.errors["reason"]), field="reason")
        cancel_payment(payment, user, form.cleaned_data["reason"])
        messages.success(self.request, _("Payment cancelled; its installments are open again."))
