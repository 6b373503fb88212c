"""Users with roles, the creditors each may see, and the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from creditors.models import Creditor


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    TEAM_LEADER = "team_leader", _("Team leader")
    OPERATOR = "operator", _("Phone operator")
    FIELD_AGENT = "field_agent", _("Field agent")
    BACK_OFFICE = "back_office", _("Back office")
    CREDITOR_VIEWER = "creditor_viewer", _("Creditor viewer")


class User(AbstractUser):
    """An agency user; what they see is limited to the creditors assigned to them."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OPERATOR)
    creditors = models.ManyToManyField(
        "creditors.Creditor", blank=True, related_name="users", verbose_name=_("creditors")
    )

    @property
    def sees_all_creditors(self) -> bool:
        return self.is_superuser or self.role == Role.ADMINISTRATOR

    @property
    def can_import(self) -> bool:
        """Uploading creditor files changes cases in bulk: back office, leaders and admins."""
        return self.sees_all_creditors or self.role in (Role.BACK_OFFICE, Role.TEAM_LEADER)

    def creditor_scope(self) -> models.QuerySet[Any] | None:
        """The ids of the creditors this user may see, as a subquery; None means all of them.

        A subquery rather than a list, so scoping a query never costs a query of its own.
        """
        if self.sees_all_creditors:
            return None
        return self.creditors.through.objects.filter(user_id=self.pk).values("creditor_id")

    def may_see_creditor(self, creditor: Creditor) -> bool:
        return self.sees_all_creditors or self.creditors.filter(pk=creditor.pk).exists()


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    VIEW = "view", _("Viewed")
    IMPORT = "import", _("Imported")


class AuditEvent(models.Model):
    """Who did what to which object and when, with the values before and after."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=50)
    object_id = models.CharField(_("object id"), max_length=50)
    summary = models.CharField(_("summary"), max_length=255, blank=True)
    before: models.JSONField[Any] = models.JSONField(null=True, blank=True)
    after: models.JSONField[Any] = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"
