"""Commission terms, pre-invoices (list, page, downloads, confirmation, FatturaPA export) and the
commission overview. Objects of creditors the user may not see answer 404, never 403; changes
are for the back office and administrators (`may_manage_billing`)."""

from __future__ import annotations

import io
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, QuerySet, Sum
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView

from accounts.models import AuditAction, User
from accounts.services import record_event
from billing import documents
from billing.fatturapa import (
    InvoiceDetails,
    InvoiceInvalid,
    export_invoice,
    invoice_filename,
    known_details,
)
from billing.filters import OverviewFilterSet, PreInvoiceFilterSet
from billing.forms import (
    BaseTierFormSet,
    CommissionTermsForm,
    CommissionTierFormSet,
    InvoiceExportForm,
    PreInvoiceCreateForm,
)
from billing.models import CommissionTerms, CommissionTier, PreInvoice, PreInvoiceState
from billing.overview import chart_series, monthly_figures, overview_totals, visible_payments
from billing.services import (
    BillingRefused,
    confirm_pre_invoice,
    create_pre_invoice,
    delete_batch_terms,
    delete_pre_invoice,
    may_manage_billing,
    recalculate_commissions,
    remove_payments,
    save_terms,
)
from billing.tables import STATE_TONES, PreInvoiceLineTable, PreInvoiceTable
from core.tables import FixedPageSize, FixedPageSizeMixin
from creditors.models import Batch, Creditor

PRE_INVOICES_PER_PAGE = 50
LINES_PER_PAGE = 100
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def current_user(request: HttpRequest) -> User:
    # Every view here requires a login, so the user is never anonymous.
    return cast(User, request.user)


def require_manager(request: HttpRequest) -> User:
    user = current_user(request)
    if not may_manage_billing(user):
        raise PermissionDenied
    return user


def visible_creditor(request: HttpRequest, pk: int) -> Creditor:
    return get_object_or_404(Creditor.objects.visible_to(current_user(request)), pk=pk)


def visible_pre_invoice(request: HttpRequest, pk: int) -> PreInvoice:
    pre_invoices = PreInvoice.objects.visible_to(current_user(request)).select_related(
        "creditor", "confirmed_by", "created_by", "job"
    )
    return get_object_or_404(pre_invoices, pk=pk)


# Commission overview.


class OverviewView(LoginRequiredMixin, FilterView):
    """Collected and commissioned amounts by month, creditor and batch, as a table and a chart."""

    template_name = "billing/overview.html"
    filterset_class = OverviewFilterSet

    def get_queryset(self) -> QuerySet[Any]:
        return visible_payments(current_user(self.request))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        figures = monthly_figures(context["filter"].qs)
        collected, commission = overview_totals(figures)
        chart = chart_series(figures)
        chart["labels"] = {"collected": _("Collected"), "commission": _("Commission")}
        context.update(
            figures=figures,
            chart=chart,
            total_collected=collected,
            total_commission=commission,
        )
        return context


# Commission terms.


class TermsIndexView(LoginRequiredMixin, TemplateView):
    """Every creditor the user may see, with its own terms."""

    template_name = "billing/terms_index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        own_terms = CommissionTerms.objects.filter(batch__isnull=True).prefetch_related("tiers")
        creditors = (
            Creditor.objects.visible_to(current_user(self.request))
            .annotate(override_count=Count("commission_terms__batch"))
            .prefetch_related(Prefetch("commission_terms", own_terms, to_attr="own_terms"))
        )
        return super().get_context_data(creditors=creditors, **kwargs)


class CreditorTermsView(LoginRequiredMixin, TemplateView):
    """A creditor's terms, and each of its batches with its own terms or the creditor's."""

    template_name = "billing/creditor_terms.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        creditor = visible_creditor(self.request, kwargs["pk"])
        terms = list(
            CommissionTerms.objects.filter(creditor=creditor)
            .select_related("batch")
            .prefetch_related("tiers")
        )
        own = next((t for t in terms if t.batch_id is None), None)
        by_batch = {t.batch_id: t for t in terms if t.batch_id is not None}
        batches = [(batch, by_batch.get(batch.pk)) for batch in creditor.batches.all()]
        return super().get_context_data(
            creditor=creditor,
            own_terms=own,
            batches=batches,
            may_manage=may_manage_billing(current_user(self.request)),
            **kwargs,
        )


class TermsEditView(LoginRequiredMixin, View):
    """The creditor's terms, or a batch's override, with their tiers."""

    def terms(self, request: HttpRequest, pk: int, batch_pk: int | None) -> CommissionTerms:
        creditor = visible_creditor(request, pk)
        batch = get_object_or_404(Batch, pk=batch_pk, creditor=creditor) if batch_pk else None
        existing = CommissionTerms.objects.filter(creditor=creditor, batch=batch).first()
        return existing or CommissionTerms(creditor=creditor, batch=batch)

    def get(self, request: HttpRequest, pk: int, batch_pk: int | None = None) -> HttpResponse:
        terms = self.terms(request, pk, batch_pk)
        require_manager(request)
        form = CommissionTermsForm(instance=terms)
        tiers = CommissionTierFormSet(instance=terms, queryset=self.tiers_of(terms))
        return self.page(request, terms, form, tiers)

    def post(self, request: HttpRequest, pk: int, batch_pk: int | None = None) -> HttpResponse:
        terms = self.terms(request, pk, batch_pk)
        user = require_manager(request)
        form = CommissionTermsForm(request.POST, instance=terms)
        tiers = cast(
            BaseTierFormSet,
            CommissionTierFormSet(request.POST, instance=terms, queryset=self.tiers_of(terms)),
        )
        form_valid = form.is_valid()
        # The tiers' rules depend on the basis chosen on the same page.
        tiers.basis = form.cleaned_data.get("basis")
        if not (form_valid and tiers.is_valid()):
            return self.page(request, terms, form, tiers, status=400)

        save_terms(form.save(commit=False), tiers, user)
        messages.success(request, _("Commission terms saved."))
        return redirect("billing:creditor-terms", pk=terms.creditor_id)

    def tiers_of(self, terms: CommissionTerms) -> QuerySet[CommissionTier]:
        if terms.pk is None:
            return CommissionTier.objects.none()
        return terms.tiers.all()

    def page(
        self, request: HttpRequest, terms: CommissionTerms, form: Any, tiers: Any, status: int = 200
    ) -> HttpResponse:
        context = {"terms": terms, "creditor": terms.creditor, "form": form, "tiers": tiers}
        return render(request, "billing/terms_form.html", context, status=status)


class BatchTermsDeleteView(LoginRequiredMixin, View):
    """Remove a batch's own terms, so the creditor's apply to it again."""

    def post(self, request: HttpRequest, pk: int, batch_pk: int) -> HttpResponse:
        creditor = visible_creditor(request, pk)
        terms = get_object_or_404(CommissionTerms, creditor=creditor, batch_id=batch_pk)
        user = require_manager(request)
        delete_batch_terms(terms, user)
        messages.success(request, _("The batch now follows the creditor's terms."))
        return redirect("billing:creditor-terms", pk=creditor.pk)


# Pre-invoices.


class PreInvoiceListView(LoginRequiredMixin, FixedPageSizeMixin, FilterView):
    template_name = "billing/pre_invoice_list.html"
    table_class = PreInvoiceTable
    filterset_class = PreInvoiceFilterSet
    table_pagination = {"per_page": PRE_INVOICES_PER_PAGE}

    def get_queryset(self) -> QuerySet[PreInvoice]:
        # One join to payments, so the sums are not multiplied by any other.
        return (
            PreInvoice.objects.visible_to(current_user(self.request))
            .select_related("creditor")
            .annotate(
                line_count=Count("payments"),
                collected=Sum("payments__amount"),
                commission=Sum("payments__commission"),
            )
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["may_manage"] = may_manage_billing(current_user(self.request))
        return context


class PreInvoiceCreateView(LoginRequiredMixin, View):
    """Gather a creditor's commissioned payments of a period into a new draft."""

    def form(self, request: HttpRequest, data: Any = None) -> PreInvoiceCreateForm:
        creditors = Creditor.objects.visible_to(current_user(request))
        return PreInvoiceCreateForm(data, creditors=creditors, initial=request.GET or None)

    def get(self, request: HttpRequest) -> HttpResponse:
        require_manager(request)
        return render(request, "billing/pre_invoice_form.html", {"form": self.form(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        user = require_manager(request)
        form = self.form(request, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                pre_invoice = create_pre_invoice(
                    data["creditor"], data["period_start"], data["period_end"], user
                )
            except BillingRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Draft pre-invoice created."))
                return redirect("billing:pre-invoice-detail", pk=pre_invoice.pk)
        return render(request, "billing/pre_invoice_form.html", {"form": form}, status=400)


class PreInvoiceDetailView(LoginRequiredMixin, View):
    """The pre-invoice as a document: lines, totals and what may be done with it."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        pre_invoice = visible_pre_invoice(request, pk)
        may_manage = may_manage_billing(current_user(request))
        lines = documents.pre_invoice_lines(pre_invoice)
        editable = may_manage and not pre_invoice.is_locked
        table = PreInvoiceLineTable.for_draft(lines) if editable else PreInvoiceLineTable(lines)
        # A page number out of range (lines removed since) or not a number shows the nearest page.
        FixedPageSize(request, LINES_PER_PAGE).configure(table)
        context = {
            "pre_invoice": pre_invoice,
            "table": table,
            "totals": documents.pre_invoice_totals(pre_invoice),
            "state_tone": STATE_TONES.get(PreInvoiceState(pre_invoice.state), "secondary"),
            "may_manage": may_manage,
        }
        return render(request, "billing/pre_invoice_detail.html", context)


class PreInvoiceActionView(LoginRequiredMixin, View):
    """A change by the back office on one pre-invoice; a refusal is shown on its page."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        pre_invoice = visible_pre_invoice(request, pk)
        user = require_manager(request)
        try:
            return self.act(request, pre_invoice, user)
        except BillingRefused as exc:
            messages.error(request, str(exc))
            return redirect("billing:pre-invoice-detail", pk=pre_invoice.pk)

    def act(self, request: HttpRequest, pre_invoice: PreInvoice, user: User) -> HttpResponse:
        raise NotImplementedError


class PreInvoiceConfirmView(PreInvoiceActionView):
    def act(self, request: HttpRequest, pre_invoice: PreInvoice, user: User) -> HttpResponse:
        confirmed = confirm_pre_invoice(pre_invoice, user)
        messages.success(
            request, _("Pre-invoice confirmed as %(number)s.") % {"number": confirmed.number}
        )
        return redirect("billing:pre-invoice-detail", pk=pre_invoice.pk)


class PreInvoiceRecalculateView(PreInvoiceActionView):
    def act(self, request: HttpRequest, pre_invoice: PreInvoice, user: User) -> HttpResponse:
        changed = recalculate_commissions(pre_invoice, user)
        messages.success(
            request,
            ngettext(
                "Commissions computed with the current terms: %(count)s payment changed.",
                "Commissions computed with the current terms: %(count)s payments changed.",
                changed,
            )
            % {"count": changed},
        )
        return redirect("billing:pre-invoice-detail", pk=pre_invoice.pk)


class PreInvoiceDeleteView(PreInvoiceActionView):
    def act(self, request: HttpRequest, pre_invoice: PreInvoice, user: User) -> HttpResponse:
        delete_pre_invoice(pre_invoice, user)
        messages.success(request, _("Draft deleted: its payments wait for another pre-invoice."))
        return redirect("billing:pre-invoice-list")


class PreInvoiceRemovePaymentView(PreInvoiceActionView):
    def act(self, request: HttpRequest, pre_invoice: PreInvoice, user: User) -> HttpResponse:
        ids = [int(v) for v in request.POST.getlist("payment") if v.isdigit()]
        removed = remove_payments(pre_invoice, ids, user)
        messages.success(
            request,
            ngettext("%(count)s payment removed.", "%(count)s payments removed.", removed)
            % {"count": removed},
        )
        return redirect("billing:pre-invoice-detail", pk=pre_invoice.pk)


class PreInvoiceXlsxView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        pre_invoice = visible_pre_invoice(request, pk)
        record_event(current_user(request), AuditAction.VIEW, pre_invoice, summary="XLSX download")
        stream = io.BytesIO()
        documents.write_xlsx(pre_invoice, stream)
        stream.seek(0)
        filename = documents.document_filename(pre_invoice, "xlsx")
        return FileResponse(stream, as_attachment=True, filename=filename, content_type=XLSX_TYPE)


class PreInvoicePdfView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> FileResponse:
        pre_invoice = visible_pre_invoice(request, pk)
        record_event(current_user(request), AuditAction.VIEW, pre_invoice, summary="PDF download")
        stream = io.BytesIO(documents.write_pdf(pre_invoice))
        filename = documents.document_filename(pre_invoice, "pdf")
        return FileResponse(
            stream, as_attachment=True, filename=filename, content_type="application/pdf"
        )


class InvoiceExportView(LoginRequiredMixin, View):
    """The agency's FatturaPA for a confirmed pre-invoice; exporting marks its payments
    invoiced."""

    template_name = "billing/invoice_export.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        pre_invoice = visible_pre_invoice(request, pk)
        require_manager(request)
        # Exported before: the same invoice again, not a second one; and the creditor's address.
        initial = {"number": pre_invoice.number, **known_details(pre_invoice)}
        form = InvoiceExportForm(initial=initial)
        return self.page(request, pre_invoice, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        pre_invoice = visible_pre_invoice(request, pk)
        user = require_manager(request)
        form = InvoiceExportForm(request.POST)
        if not form.is_valid():
            return self.page(request, pre_invoice, form, status=400)
        try:
            xml = export_invoice(pre_invoice, InvoiceDetails(**form.cleaned_data), user)
        except InvoiceInvalid as exc:
            form.add_error(None, str(exc))
            return self.page(request, pre_invoice, form, errors=exc.errors, status=400)
        except BillingRefused as exc:
            form.add_error(None, str(exc))
            return self.page(request, pre_invoice, form, status=409)
        return FileResponse(
            io.BytesIO(xml),
            as_attachment=True,
            filename=invoice_filename(pre_invoice),
            content_type="application/xml",
        )

    def page(
        self,
        request: HttpRequest,
        pre_invoice: PreInvoice,
        form: InvoiceExportForm,
        errors: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        context = {
            "pre_invoice": pre_invoice,
            "form": form,
            "errors": errors or [],
            "totals": documents.pre_invoice_totals(pre_invoice),
        }
        return render(request, self.template_name, context, status=status)
