"""The audit trail: every change and every opening of a case is recorded."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import AuditAction, AuditEvent, User


def record_event(
    user: User | None,
    action: AuditAction,
    obj: models.Model,
    *,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one audited event; the summary must not carry personal data."""
    return AuditEvent.objects.create(
        user=user if user is not None and user.is_authenticated else None,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        summary=summary[:255],
        before=before,
        after=after,
    )
