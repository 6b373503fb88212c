"""Creditor set-up and the life of a batch."""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditAction, AuditEvent, User
from accounts.services import record_event
from cases.models import Case, CaseState
from creditors.models import Batch, BatchState, Creditor

logger = logging.getLogger(__name__)
AUDIT_CHUNK = 2000


class ReturnRefused(Exception):
    """The batch cannot be returned; the message says why, in words the user can act on."""


def ensure_creditor(code: str, name: str) -> tuple[Creditor, bool]:
    """Create the creditor if missing; an existing one keeps its name."""
    return Creditor.objects.get_or_create(code=code.strip().upper(), defaults={"name": name})


def return_refusal(batch: Batch, returned_on: datetime.date) -> str | None:
    """Why the batch cannot be returned on that date, or None when it can."""
    if batch.state == BatchState.RETURNED:
        when = batch.returned_on.strftime("%d/%m/%Y") if batch.returned_on else "—"
        return _("Batch %(code)s was already returned on %(date)s.") % {
            "code": batch.code,
            "date": when,
        }
    if batch.state == BatchState.CLOSED:
        return _("Batch %(code)s is closed and cannot be returned.") % {"code": batch.code}
    if returned_on < batch.assigned_on:
        return _("The return date cannot be earlier than the assignment date (%(date)s).") % {
            "date": batch.assigned_on.strftime("%d/%m/%Y")
        }
    if returned_on > timezone.localdate():
        return _("The return date cannot be later than today.")
    return None


def return_batch(batch: Batch, user: User, returned_on: datetime.date) -> int:
    """Give the batch back to the creditor: the mandate ends on that date and its open cases are
    returned, so nobody works them any more. Closed cases keep their state.

    Returns how many cases were returned; raises ReturnRefused when the batch is not open.
    """
    with transaction.atomic():
        # Locked and read again, so that two clicks on the button return the batch once.
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        refusal = return_refusal(batch, returned_on)
        if refusal:
            raise ReturnRefused(refusal)

        before = {"state": batch.state, "returned_on": None}
        batch.state = BatchState.RETURNED
        batch.returned_on = returned_on
        batch.save(update_fields=["state", "returned_on"])

        open_cases = Case.objects.filter(batch=batch, state=CaseState.OPEN)
        case_ids = list(open_cases.order_by("pk").values_list("pk", flat=True))
        returned = open_cases.update(state=CaseState.RETURNED)
        record_event(
            user,
            AuditAction.UPDATE,
            batch,
            summary=f"Batch returned to the creditor, {returned} open cases returned",
            before=before,
            after={
                "state": batch.state,
                "returned_on": returned_on.isoformat(),
                "cases_returned": returned,
            },
        )
        record_case_returns(case_ids, user, batch)

    logger.info("Batch %s returned on %s: %s cases returned", batch.pk, returned_on, returned)
    return returned


def record_case_returns(case_ids: list[int], user: User, batch: Batch) -> None:
    """One audit event per returned case, so each case's own history shows why it stopped; written
    in bulk, since a batch can hold tens of thousands of cases."""
    summary = f"Returned to the creditor with batch {batch.pk}"
    label = Case._meta.label_lower
    for start in range(0, len(case_ids), AUDIT_CHUNK):
        AuditEvent.objects.bulk_create(
            AuditEvent(
                user=user,
                action=AuditAction.UPDATE,
                object_type=label,
                object_id=str(pk),
                summary=summary,
                before={"state": CaseState.OPEN.value},
                after={"state": CaseState.RETURNED.value},
            )
            for pk in case_ids[start : start + AUDIT_CHUNK]
        )
