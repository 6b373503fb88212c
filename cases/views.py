"""Case list and case page."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import SingleTableMixin

from accounts.models import AuditAction, User
from accounts.services import record_event
from cases.filters import CaseFilterSet
from cases.models import Case
from cases.queries import cases_for_list, cases_for_page
from cases.tables import CaseTable


class CaseListView(LoginRequiredMixin, SingleTableMixin, FilterView):
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

    def get_queryset(self) -> QuerySet[Case]:
        # Scoping here makes a case of another creditor a 404, indistinguishable from a missing one.
        return cases_for_page(cast(User, self.request.user))

    def get_object(self, queryset: QuerySet[Case] | None = None) -> Case:
        case = super().get_object(queryset)
        record_event(cast(User, self.request.user), AuditAction.VIEW, case)
        return case
