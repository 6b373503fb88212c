"""Read queries for the case pages and the API, built on CaseQuerySet.

Every function starts from `Case.objects.visible_to(user)`, so no caller can forget the scoping
to the creditors the user may see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case as SqlCase
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When

from cases.models import (
    Address,
    Case,
    CaseParty,
    CaseQuerySet,
    Contact,
    Note,
    PartyRole,
    Payment,
    PaymentAllocation,
    PaymentEvent,
)

if TYPE_CHECKING:
    from accounts.models import User


def with_main_debtor(cases: CaseQuerySet) -> CaseQuerySet:
    """Annotate the main debtor's name and tax code: a list shows them without a query per row."""
    main = CaseParty.objects.filter(case=OuterRef("pk"), role=PartyRole.MAIN).order_by("pk")
    return cases.annotate(
        main_debtor_name=Subquery(main.values("debtor__name")[:1]),
        main_debtor_tax_code=Subquery(main.values("debtor__tax_code")[:1]),
    )


def search_cases(cases: CaseQuerySet, text: str) -> CaseQuerySet:
    """Cases whose contract starts with the text, or whose main debtor matches by name or tax code.

    Tax codes are stored upper-case, so an upper-cased exact match finds them case-insensitively
    and can still use the unique index.
    """
    text = text.strip()
    if not text:
        return cases
    main_debtor_matches = CaseParty.objects.filter(case=OuterRef("pk"), role=PartyRole.MAIN).filter(
        Q(debtor__name__icontains=text) | Q(debtor__tax_code=text.upper())
    )
    return cases.filter(Q(contract_number__startswith=text) | Exists(main_debtor_matches))


def cases_for_list(user: User) -> CaseQuerySet:
    """The cases a user may see, with everything a list row shows fetched in one query."""
    cases = Case.objects.visible_to(user).with_total_requested()
    return with_main_debtor(cases).select_related("creditor", "batch", "assignee")


def cases_for_page(user: User) -> CaseQuerySet:
    """The cases a user may see, with what a case page shows prefetched: one query per section,
    not one per installment, party or note."""
    later_cases = Case.objects.visible_to(user).select_related("batch").order_by("pk")
    main_first = SqlCase(When(role=PartyRole.MAIN, then=Value(0)), default=Value(1))
    return (
        Case.objects.visible_to(user)
        .with_total_requested()
        .select_related("creditor", "batch", "assignee", "previous__batch")
        .prefetch_related(
            Prefetch(
                "parties",
                queryset=CaseParty.objects.select_related("debtor").order_by(main_first, "pk"),
            ),
            Prefetch(
                "parties__debtor__addresses",
                queryset=Address.objects.visible_to(user).order_by("pk"),
            ),
            Prefetch(
                "parties__debtor__contacts",
                queryset=Contact.objects.visible_to(user).order_by("kind", "pk"),
            ),
            "installments",
            Prefetch("payments", queryset=payments_with_history()),
            Prefetch("notes", queryset=Note.objects.select_related("author")),
            Prefetch("reassignments", queryset=later_cases),
        )
    )


def payments_with_history() -> QuerySet[Payment]:
    """Payments with their pre-invoice, allocations and events: three queries for any number."""
    return Payment.objects.select_related("pre_invoice", "recorded_by").prefetch_related(
        Prefetch("allocations", queryset=PaymentAllocation.objects.select_related("installment")),
        Prefetch("events", queryset=PaymentEvent.objects.select_related("user")),
    )


def visible_payments(user: User) -> QuerySet[Payment]:
    """Payments on the cases a user may see."""
    return payments_with_history().filter(case__in=Case.objects.visible_to(user))
