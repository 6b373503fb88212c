"""Batch list, batch page, returning a batch and its end-of-mandate report."""

from __future__ import annotations

import tempfile
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import DetailView
from django_filters.views import FilterView

from accounts.models import AuditAction, User
from accounts.services import record_event
from billing.terms import terms_for_batch
from cases.models import CaseState
from core.tables import FixedPageSizeMixin
from creditors.filters import BatchFilterSet
from creditors.models import Batch, BatchState
from creditors.reports import (
    batches_for_list,
    cases_by_state,
    format_rate,
    recovery_rate,
    report_available,
    report_filename,
    visible_batches,
    with_figures,
    write_end_of_mandate_xlsx,
)
from creditors.services import ReturnRefused, return_batch
from creditors.tables import STATE_TONES, BatchTable

BATCHES_PER_PAGE = 50
# Reports are built in memory up to this size, then in a temporary file.
SPOOL_BYTES = 16 * 1024 * 1024
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def current_user(request: HttpRequest) -> User:
    # Every view here requires a login, so the user is never anonymous.
    return cast(User, request.user)


class BatchReturnForm(forms.Form):
    returned_on = forms.DateField(
        label=gettext_lazy("Return date"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )


class BatchListView(LoginRequiredMixin, FixedPageSizeMixin, FilterView):
    """The batches of the creditors the user may see, with what each was assigned and has
    recovered."""

    template_name = "creditors/batch_list.html"
    table_class = BatchTable
    filterset_class = BatchFilterSet
    table_pagination = {"per_page": BATCHES_PER_PAGE}

    def get_queryset(self) -> QuerySet[Batch]:
        return batches_for_list(current_user(self.request))


class VisibleBatchMixin(LoginRequiredMixin):
    """Batches of creditors the user may not see do not exist for them: 404, never 403."""

    request: HttpRequest

    def get_queryset(self) -> QuerySet[Batch]:
        return visible_batches(current_user(self.request))


class BatchDetailView(VisibleBatchMixin, DetailView[Batch]):
    """One batch: its figures, its cases by state, and the return for those who may do it."""

    template_name = "creditors/batch_detail.html"
    context_object_name = "batch"

    def get_queryset(self) -> QuerySet[Batch]:
        return with_figures(super().get_queryset())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        batch: Any = self.object
        user = current_user(self.request)
        may_return = user.can_import and batch.state == BatchState.OPEN
        if may_return and "return_form" not in kwargs:
            context["return_form"] = BatchReturnForm(initial={"returned_on": timezone.localdate()})
        by_state = cases_by_state(batch)
        context.update(
            state_tone=STATE_TONES.get(BatchState(batch.state), "secondary"),
            recovery_rate=format_rate(recovery_rate(batch.collected, batch.assigned)),
            commission_terms=terms_for_batch(batch),
            cases_by_state=[(label, by_state.get(value, 0)) for value, label in CaseState.choices],
            open_cases=by_state.get(CaseState.OPEN, 0),
            may_return=may_return,
            report_available=report_available(batch),
        )
        return context


class BatchReturnView(BatchDetailView):
    """Return the batch to the creditor on the date given: back office, leaders and admins."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.object = batch = self.get_object()
        user = current_user(request)
        if not user.can_import:
            raise PermissionDenied

        form = BatchReturnForm(request.POST)
        if not form.is_valid():
            return self.page(form, status=400)
        try:
            returned = return_batch(batch, user, form.cleaned_data["returned_on"])
        except ReturnRefused as exc:
            form.add_error(None, str(exc))
            return self.page(form, status=409)

        message = ngettext(
            "Batch %(code)s returned to the creditor: %(count)s open case is now returned.",
            "Batch %(code)s returned to the creditor: %(count)s open cases are now returned.",
            returned,
        ) % {"code": batch.code, "count": returned}
        messages.success(request, message)
        return redirect("creditors:batch-detail", pk=batch.pk)

    def page(self, form: BatchReturnForm, status: int) -> HttpResponse:
        context = self.get_context_data(object=self.object, return_form=form)
        return self.render_to_response(context, status=status)


class BatchReportView(VisibleBatchMixin, View):
    """The end-of-mandate report of a returned batch, as XLSX; each download is audited, since
    it carries the names and tax codes of every debtor of the batch."""

    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        batch = get_object_or_404(self.get_queryset(), pk=pk)
        if not report_available(batch):
            raise Http404(_("The end-of-mandate report exists once the batch is returned."))

        record_event(
            current_user(request), AuditAction.VIEW, batch, summary="End-of-mandate report"
        )
        stream = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 -- FileResponse closes it
        write_end_of_mandate_xlsx(batch, stream)
        stream.seek(0)
        return FileResponse(
            stream, as_attachment=True, filename=report_filename(batch), content_type=XLSX_TYPE
        )
