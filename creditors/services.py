"""Creditor set-up."""

from __future__ import annotations

from creditors.models import Creditor


def ensure_creditor(code: str, name: str) -> tuple[Creditor, bool]:
    """Create the creditor if missing; an existing one keeps its name."""
    return Creditor.objects.get_or_create(code=code.strip().upper(), defaults={"name": name})
