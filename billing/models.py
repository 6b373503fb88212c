"""The agency's commissions: terms per creditor or batch, and the pre-invoices (prefatture)
on which creditors recognise them."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases.models import MoneyField

if TYPE_CHECKING:
    from accounts.models import User


class CommissionBasis(models.TextChoices):
    FLAT = "flat", _("One rate")
    CASE_AGE = "case_age", _("By days since assignment")
    RECOVERED = "recovered", _("By amount recovered on the case")


class CommissionTermsQuerySet(models.QuerySet["CommissionTerms"]):
    def visible_to(self, user: User) -> CommissionTermsQuerySet:
        scope = user.creditor_scope()
        return self if scope is None else self.filter(creditor_id__in=scope)


class CommissionTerms(models.Model):
    """What the creditor pays the agency on what it collects: set for the creditor, and
    optionally overridden for one of its batches."""

    creditor = models.ForeignKey(
        "creditors.Creditor", on_delete=models.CASCADE, related_name="commission_terms"
    )
    batch = models.ForeignKey(
        "creditors.Batch",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="commission_terms",
        help_text=_("Empty: the creditor's terms, used by every batch without its own."),
    )
    basis = models.CharField(
        _("basis"), max_length=10, choices=CommissionBasis, default=CommissionBasis.FLAT
    )
    rate = models.DecimalField(
        _("commission rate (%)"), max_digits=5, decimal_places=2, default=Decimal("0.00")
    )
    cap = MoneyField(
        _("cap per case"),
        null=True,
        blank=True,
        help_text=_("Most commission the agency can earn on one case; empty: no cap."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommissionTermsQuerySet.as_manager()

    class Meta:
        ordering = ["creditor", "batch"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor"],
                condition=models.Q(batch__isnull=True),
                name="commission_terms_one_per_creditor",
            ),
            models.UniqueConstraint(fields=["batch"], name="commission_terms_one_per_batch"),
        ]
        verbose_name = _("commission terms")
        verbose_name_plural = _("commission terms")

    def __str__(self) -> str:
        return f"{self.creditor_id}/{self.batch_id or '*'}: {self.rate}%"


class CommissionTier(models.Model):
    """From `threshold` on (days since assignment, or euro recovered on the case), `rate`."""

    terms = models.ForeignKey(CommissionTerms, on_delete=models.CASCADE, related_name="tiers")
    threshold = models.DecimalField(_("from"), max_digits=14, decimal_places=2)
    rate = models.DecimalField(_("commission rate (%)"), max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["terms", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["terms", "threshold"], name="commission_tier_unique")
        ]
        verbose_name = _("commission tier")
        verbose_name_plural = _("commission tiers")

    def __str__(self) -> str:
        return f"≥{self.threshold}: {self.rate}%"


class PreInvoiceState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CONFIRMED = "confirmed", _("Confirmed")


class PreInvoiceQuerySet(models.QuerySet["PreInvoice"]):
    def visible_to(self, user: User) -> PreInvoiceQuerySet:
        scope = user.creditor_scope()
        return self if scope is None else self.filter(creditor_id__in=scope)


class PreInvoice(models.Model):
    """The commissioned payments of one creditor over a period; once confirmed, nothing
    changes it or its payments."""

    creditor = models.ForeignKey(
        "creditors.Creditor", on_delete=models.PROTECT, related_name="pre_invoices"
    )
    number = models.CharField(_("number"), max_length=30, blank=True)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    state = models.CharField(
        _("state"), max_length=10, choices=PreInvoiceState, default=PreInvoiceState.DRAFT
    )
    vat_rate = models.DecimalField(
        _("VAT (%)"), max_digits=5, decimal_places=2, default=Decimal("22.00")
    )
    job = models.ForeignKey(
        "imports.ImportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pre_invoices",
        verbose_name=_("from file"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("confirmed by"),
    )

    # The agency's invoice, kept at its first FatturaPA export: a later export repeats it.
    invoice_number = models.CharField(_("invoice number"), max_length=20, blank=True)
    invoice_date = models.DateField(_("invoice date"), null=True, blank=True)

    objects = PreInvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-period_end", "-id"]
        constraints = [
            # Numbers are given on confirmation, one sequence per year across creditors.
            models.UniqueConstraint(
                fields=["number"], condition=~models.Q(number=""), name="pre_invoice_unique_number"
            )
        ]
        verbose_name = _("pre-invoice")
        verbose_name_plural = _("pre-invoices")

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def is_locked(self) -> bool:
        return self.state == PreInvoiceState.CONFIRMED
