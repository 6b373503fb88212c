"""Creditors (mandanti) and the batches (lotti) of cases they assign to the agency."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from accounts.models import User


class CreditorQuerySet(models.QuerySet["Creditor"]):
    def visible_to(self, user: User) -> CreditorQuerySet:
        scope = user.creditor_scope()
        return self if scope is None else self.filter(pk__in=scope)


class Creditor(models.Model):
    """A bank, finance company or debt buyer that assigns cases to the agency."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("legal name"), max_length=200)
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    retention_months = models.PositiveIntegerField(_("data retention (months)"), default=120)
    # Where the agency's invoices go: filled in by the first FatturaPA export, offered after.
    billing_street = models.CharField(_("registered address"), max_length=60, blank=True)
    billing_postcode = models.CharField(_("postcode"), max_length=5, blank=True)
    billing_city = models.CharField(_("city"), max_length=60, blank=True)
    billing_province = models.CharField(_("province"), max_length=2, blank=True)
    billing_country = models.CharField(_("country"), max_length=2, blank=True)
    sdi_code = models.CharField(_("recipient code (SDI)"), max_length=7, blank=True)
    pec = models.EmailField(_("PEC"), max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CreditorQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("creditor")
        verbose_name_plural = _("creditors")

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class BatchKind(models.TextChoices):
    PHONE = "phone", _("Phone collection")
    HOME = "home", _("Home collection")
    LEGAL = "legal", _("Legal")


class BatchState(models.TextChoices):
    OPEN = "open", pgettext_lazy("batch", "Open")
    RETURNED = "returned", pgettext_lazy("batch", "Returned")
    CLOSED = "closed", pgettext_lazy("batch", "Closed")


class Batch(models.Model):
    """Cases a creditor assigned together, under one code and one mandate period."""

    creditor = models.ForeignKey(Creditor, on_delete=models.PROTECT, related_name="batches")
    code = models.CharField(_("code"), max_length=50)
    assigned_on = models.DateField(_("assigned on"))
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=BatchKind, default=BatchKind.PHONE)
    state = models.CharField(_("state"), max_length=10, choices=BatchState, default=BatchState.OPEN)
    created_job = models.ForeignKey(
        "imports.ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["creditor", "-assigned_on", "code"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "code"], name="batch_unique_code")
        ]
        verbose_name = _("batch")
        verbose_name_plural = _("batches")

    def __str__(self) -> str:
        return self.code
