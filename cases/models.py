"""Cases (pratiche), the people liable for them and what is owed, paid and said."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Case as SqlCase
from django.db.models import (
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from accounts.models import User

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


class MoneyField(models.DecimalField):  # type: ignore[type-arg]
    """Euro amounts: Decimal with two places, up to a trillion."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


class DebtorKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class Debtor(models.Model):
    """A person or company, one per tax code across the agency, linked to cases by role."""

    kind = models.CharField(_("kind"), max_length=10, choices=DebtorKind, default=DebtorKind.PERSON)
    tax_code = models.CharField(_("tax code"), max_length=16, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=200)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    created_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("debtor")
        verbose_name_plural = _("debtors")

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # One debtor per tax code only holds if every tax code is written the same way.
        if self.tax_code:
            self.tax_code = "".join(self.tax_code.split()).upper()
        super().save(*args, **kwargs)


class CaseState(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    RETURNED = "returned", _("Returned to creditor")


class CaseQuerySet(models.QuerySet["Case"]):
    def visible_to(self, user: User) -> CaseQuerySet:
        """Only the cases of the creditors the user may see."""
        scope = user.creditor_scope()
        return self if scope is None else self.filter(creditor_id__in=scope)

    def with_total_requested(self) -> CaseQuerySet:
        """Annotate the total requested, by the rule of `Case.compute_total_requested`, with one
        grouped subquery per figure so that a list costs no query per row."""
        money = MoneyField()
        unpaid = (
            Installment.objects.filter(case=OuterRef("pk"))
            .order_by()
            .values("case")
            .annotate(
                total=Coalesce(
                    Sum(
                        F("amount") - F("paid_amount"),
                        filter=Q(status=InstallmentStatus.UNPAID),
                        output_field=money,
                    ),
                    Value(ZERO),
                    output_field=money,
                )
                + Sum("fees", output_field=money)
            )
            .values("total")
        )
        paid = (
            Payment.objects.filter(case=OuterRef("pk"))
            .order_by()
            .values("case")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        allocated = (
            PaymentAllocation.objects.filter(payment__case=OuterRef("pk"))
            .order_by()
            .values("payment__case")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        owed = SqlCase(
            When(Exists(Installment.objects.filter(case=OuterRef("pk"))), then=_money(unpaid)),
            default=F("assigned_total"),
            output_field=money,
        )
        unallocated = ExpressionWrapper(_money(paid) - _money(allocated), output_field=money)
        return self.annotate(
            total_requested=ExpressionWrapper(
                owed + F("other_charges") - unallocated, output_field=money
            )
        )


def _money(subquery: models.QuerySet[Any]) -> Coalesce:
    money = MoneyField()
    return Coalesce(Subquery(subquery, output_field=money), Value(ZERO), output_field=money)


class Case(models.Model):
    """One contract of one creditor, worked by the agency."""

    creditor = models.ForeignKey(
        "creditors.Creditor", on_delete=models.PROTECT, related_name="cases"
    )
    batch = models.ForeignKey("creditors.Batch", on_delete=models.PROTECT, related_name="cases")
    contract_number = models.CharField(_("contract number"), max_length=64)
    creditor_reference = models.CharField(_("creditor reference"), max_length=64, blank=True)
    original_creditor = models.CharField(_("original creditor"), max_length=200, blank=True)
    product = models.CharField(_("product"), max_length=100, blank=True)
    principal = MoneyField(_("principal"), default=ZERO)
    interest = MoneyField(_("interest"), default=ZERO)
    charges = MoneyField(_("fees assigned"), default=ZERO)
    # The creditor's own total may include items it does not break down, so it is kept as given.
    assigned_total = MoneyField(_("total assigned"), default=ZERO)
    acceleration_date = models.DateField(
        _("acceleration date"),
        null=True,
        blank=True,
        help_text=_("When the debtor lost the benefit of the term (decadenza dal beneficio)."),
    )
    last_payment_date = models.DateField(_("last payment date"), null=True, blank=True)
    other_charges = MoneyField(_("other charges"), default=ZERO)
    state = models.CharField(_("state"), max_length=10, choices=CaseState, default=CaseState.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reassignments"
    )
    needs_attention = models.BooleanField(_("to be reviewed"), default=False)
    created_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["creditor", "contract_number"])]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self) -> str:
        return self.contract_number

    @property
    def is_open(self) -> bool:
        return self.state == CaseState.OPEN

    def compute_total_requested(self) -> Decimal:
        """What the debtor is asked for now.

        On a case with installments: what is still outstanding of the unpaid ones (amount less
        what payments settled) plus the protest fees of every installment (payments settle
        installments, never fees, so fees stay asked for until a surplus covers them); on a
        case without (one row per case, as Axactor assigns) the total assigned. Then plus other
        charges, less the part of the payments not allocated to any installment: an allocated
        euro already lowered an installment, so it is not subtracted twice. Payments count in
        every state; a cancelled one is gone.
        """
        installments = self.installments.order_by().aggregate(
            count=Count("pk"),
            unpaid=Sum(F("amount") - F("paid_amount"), filter=Q(status=InstallmentStatus.UNPAID)),
            fees=Sum("fees"),
        )
        owed = (
            (installments["unpaid"] or ZERO) + (installments["fees"] or ZERO)
            if installments["count"]
            else self.assigned_total
        )
        paid = self.payments.order_by().aggregate(total=Sum("amount"))["total"] or ZERO
        allocated = (
            PaymentAllocation.objects.filter(payment__case=self)
            .order_by()
            .aggregate(total=Sum("amount"))["total"]
            or ZERO
        )
        return (owed + self.other_charges - (paid - allocated)).quantize(CENT)

    def main_debtor(self) -> Debtor | None:
        party = self.parties.filter(role=PartyRole.MAIN).select_related("debtor").first()
        return party.debtor if party else None


class PartyRole(models.TextChoices):
    MAIN = "main", _("Debtor")
    CO_OBLIGOR = "co_obligor", _("Co-obligor")
    GUARANTOR = "guarantor", _("Guarantor")


class CaseParty(models.Model):
    """A debtor liable for a case, in a role."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="parties")
    debtor = models.ForeignKey(Debtor, on_delete=models.PROTECT, related_name="parties")
    role = models.CharField(_("role"), max_length=12, choices=PartyRole, default=PartyRole.MAIN)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "debtor", "role"], name="caseparty_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.debtor_id} on case {self.case_id}"


class Source(models.TextChoices):
    CREDITOR = "creditor", _("Creditor file")
    AGENCY = "agency", _("Agency")
    DEBTOR = "debtor", _("Debtor")


class SourcedQuerySet(models.QuerySet[Any]):
    """Addresses and contacts are kept per source: what a creditor's file brought is shown only
    to users of that creditor, even when the debtor is shared with another creditor."""

    def visible_to(self, user: User) -> SourcedQuerySet:
        scope = user.creditor_scope()
        if scope is None:
            return self
        return self.filter(
            models.Q(created_job__isnull=True) | models.Q(created_job__creditor_id__in=scope)
        )


class Address(models.Model):
    """Where a debtor can be reached, with where the information came from."""

    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="addresses")
    street = models.CharField(_("street"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=5, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=2, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source, default=Source.CREDITOR)
    created_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SourcedQuerySet.as_manager()

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")

    def __str__(self) -> str:
        return f"{self.street}, {self.postcode} {self.city} ({self.province})"


class ContactKind(models.TextChoices):
    PHONE = "phone", _("Phone")
    MOBILE = "mobile", _("Mobile")
    EMAIL = "email", _("E-mail")
    IBAN = "iban", _("IBAN")


class Contact(models.Model):
    """A phone number or e-mail address of a debtor, with its source."""

    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(_("kind"), max_length=10, choices=ContactKind)
    value = models.CharField(_("value"), max_length=254)
    source = models.CharField(_("source"), max_length=10, choices=Source, default=Source.CREDITOR)
    created_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SourcedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["debtor", "kind", "value"], name="contact_unique")
        ]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.value


class PaymentMethod(models.TextChoices):
    SDD = "SDD", _("Direct debit")
    BOL = "BOL", _("Postal slip")
    BON = "BON", _("Bank transfer")
    CAR = "CAR", _("Card")
    CON = "CON", _("Cash")
    ALT = "ALT", _("Other")


class InstallmentStatus(models.TextChoices):
    DUE = "due", _("Due")
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")


class Installment(models.Model):
    """An amount due on a date; the creditor may report it unpaid, with protest fees."""

    # No index of its own: the (case, due_date) index serves lookups by case, and one index
    # fewer on the largest table makes loading portfolios faster.
    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="installments", db_index=False
    )
    number = models.PositiveIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    amount = MoneyField(_("amount"))
    payment_method = models.CharField(
        _("payment method"), max_length=3, choices=PaymentMethod, default=PaymentMethod.SDD
    )
    status = models.CharField(
        _("status"), max_length=10, choices=InstallmentStatus, default=InstallmentStatus.DUE
    )
    fees = MoneyField(_("fees"), default=ZERO)
    # What payments have settled of it so far; it is paid once this reaches the amount.
    paid_amount = MoneyField(_("paid"), default=ZERO, db_default=ZERO)
    unpaid_on = models.DateField(_("unpaid on"), null=True, blank=True)
    unpaid_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["case", "due_date", "number"]
        indexes = [models.Index(fields=["case", "due_date"])]
        verbose_name = _("installment")
        verbose_name_plural = _("installments")

    def __str__(self) -> str:
        return f"{self.case_id}/{self.number}"


class PaymentChannel(models.TextChoices):
    AGENCY = "agency", _("To the agency")
    CREDITOR = "creditor", _("Direct to the creditor")


class PaymentState(models.TextChoices):
    """A payment's life: the debtor says it paid, the money is seen, the creditor recognises
    the agency's commission on it, the agency invoices that commission."""

    REPORTED = "reported", _("Reported")
    COLLECTED = "collected", _("Collected")
    COMMISSIONED = "commissioned", _("Commissioned")
    INVOICED = "invoiced", _("Invoiced")


# Money the agency has seen: what batches, reports and the commission overview call collected. A
# payment only reported by the debtor is not counted until it is confirmed.
COLLECTED_STATES = (PaymentState.COLLECTED, PaymentState.COMMISSIONED, PaymentState.INVOICED)


class Payment(models.Model):
    """Money paid on a case, allocated to its oldest open installments."""

    # A payment is money received: its case (or an installment it settled) cannot be deleted
    # while it exists, whoever tries; undoing the job that created it removes it first.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="payments")
    paid_on = models.DateField(_("paid on"))
    amount = MoneyField(_("amount"))
    channel = models.CharField(
        _("channel"), max_length=10, choices=PaymentChannel, default=PaymentChannel.AGENCY
    )
    state = models.CharField(
        _("state"), max_length=12, choices=PaymentState, default=PaymentState.REPORTED
    )
    collected_on = models.DateField(_("collected on"), null=True, blank=True)
    commissioned_on = models.DateField(_("commissioned on"), null=True, blank=True)
    commission_rate = models.DecimalField(
        _("commission rate (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    commission = MoneyField(_("commission"), null=True, blank=True)
    pre_invoice = models.ForeignKey(
        "billing.PreInvoice",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payments",
        verbose_name=_("pre-invoice"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    # The pre-invoice job that created the payment (matched on installments), or that moved a
    # registered payment to commissioned; undo uses them.
    created_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    commissioned_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        indexes = [models.Index(fields=["case", "paid_on"])]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.paid_on:%d/%m/%Y} {self.amount}"

    @property
    def is_locked(self) -> bool:
        """A payment on a confirmed pre-invoice, or commissioned by a creditor's pre-invoice
        file, is the creditor's record: nobody changes it by hand."""
        if self.pre_invoice_id is not None and self.pre_invoice is not None:
            return self.pre_invoice.is_locked or self._commissioned_by_job
        return self._commissioned_by_job

    @property
    def _commissioned_by_job(self) -> bool:
        by_job = self.commissioned_job_id is not None or self.created_job_id is not None
        return by_job and self.state in (PaymentState.COMMISSIONED, PaymentState.INVOICED)

    @property
    def allocated_amount(self) -> Decimal:
        """The part settling installments; uses the prefetched allocations when there are."""
        return sum((allocation.amount for allocation in self.allocations.all()), ZERO)

    @property
    def unallocated_amount(self) -> Decimal:
        return self.amount - self.allocated_amount


class PaymentAllocation(models.Model):
    """The part of a payment that settles one installment."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    installment = models.ForeignKey(
        Installment, on_delete=models.PROTECT, related_name="allocations"
    )
    amount = MoneyField(_("amount"))
    # The installment's status before this allocation, restored when the payment is removed.
    previous_status = models.CharField(max_length=10, choices=InstallmentStatus)

    class Meta:
        ordering = ["payment", "installment__due_date", "installment__number"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"{self.payment_id}→{self.installment_id}: {self.amount}"


class PaymentEvent(models.Model):
    """One change of a payment: recorded, state moved, commission set, allocated, removed."""

    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_state = models.CharField(max_length=12, choices=PaymentState, blank=True)
    to_state = models.CharField(max_length=12, choices=PaymentState, blank=True)
    detail = models.TextField(_("detail"), blank=True)

    class Meta:
        ordering = ["payment", "at", "id"]
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_state}→{self.to_state}"


class NoteKind(models.TextChoices):
    USER = "user", _("User")
    SYSTEM = "system", _("System")


class Note(models.Model):
    """Free text on a case, written by a user or by the system when a file changes the case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(_("kind"), max_length=10, choices=NoteKind, default=NoteKind.USER)
    text = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.PROTECT, related_name="notes"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return self.text[:60]
