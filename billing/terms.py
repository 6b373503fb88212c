"""Which commission terms apply: the batch's own, else the creditor's."""

from __future__ import annotations

from django.db.models import F, Q

from billing.models import CommissionTerms
from creditors.models import Batch


def terms_for_batch(batch: Batch) -> CommissionTerms | None:
    """The batch's terms if it has its own, else the creditor's, else None."""
    return (
        CommissionTerms.objects.filter(
            Q(batch=batch) | Q(creditor_id=batch.creditor_id, batch__isnull=True)
        )
        .order_by(F("batch_id").asc(nulls_last=True))
        .first()
    )
