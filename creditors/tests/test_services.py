"""Returning a batch: what changes, what is recorded, and that it happens whole or not at all."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import translation

from accounts.models import AuditAction, AuditEvent, User
from cases.models import Case, CaseState
from creditors import services
from creditors.models import Batch, BatchState
from creditors.services import ReturnRefused, return_batch

pytestmark = pytest.mark.django_db
TODAY = datetime.datetime(2025, 10, 15, 10, 0, tzinfo=datetime.UTC)
SEPT_30 = datetime.date(2025, 9, 30)


@time_machine.travel(TODAY, tick=False)
def test_return_ends_the_mandate_of_the_open_cases(back_office: User, compass_batch: Batch) -> None:
    other = Case.objects.get(contract_number="OTHER")

    returned = return_batch(compass_batch, back_office, SEPT_30)

    assert returned == 2
    compass_batch.refresh_from_db()
    assert (compass_batch.state, compass_batch.returned_on) == (BatchState.RETURNED, SEPT_30)
    states = dict(compass_batch.cases.values_list("contract_number", "state"))
    assert states == {
        "0012345678": CaseState.RETURNED,
        "0077": CaseState.RETURNED,
        "0099": CaseState.CLOSED,
    }
    other.refresh_from_db()
    assert other.state == CaseState.OPEN


@time_machine.travel(TODAY, tick=False)
def test_return_is_audited_on_the_batch_and_on_each_returned_case(
    back_office: User, compass_batch: Batch
) -> None:
    return_batch(compass_batch, back_office, SEPT_30)

    batch_event = AuditEvent.objects.get(object_type="creditors.batch")
    assert (batch_event.user, batch_event.action, batch_event.object_id) == (
        back_office,
        AuditAction.UPDATE,
        str(compass_batch.pk),
    )
    assert batch_event.before == {"state": "open", "returned_on": None}
    assert batch_event.after == {
        "state": "returned",
        "returned_on": "2025-09-30",
        "cases_returned": 2,
    }
    returned_ids = {
        str(pk)
        for pk in compass_batch.cases.filter(state=CaseState.RETURNED).values_list("pk", flat=True)
    }
    case_events = AuditEvent.objects.filter(object_type="cases.case")
    assert {event.object_id for event in case_events} == returned_ids
    for event in case_events:
        assert (event.user, event.action) == (back_office, AuditAction.UPDATE)
        assert (event.before, event.after) == ({"state": "open"}, {"state": "returned"})


@time_machine.travel(TODAY, tick=False)
def test_a_batch_is_returned_once(back_office: User, compass_batch: Batch) -> None:
    return_batch(compass_batch, back_office, SEPT_30)
    events = AuditEvent.objects.count()

    # The caller's object is stale: the service reads the batch again before deciding.
    with translation.override("en"), pytest.raises(ReturnRefused) as refused:
        return_batch(compass_batch, back_office, datetime.date(2025, 10, 1))

    assert str(refused.value) == "Batch LOTTO-2025-03 was already returned on 30/09/2025."
    compass_batch.refresh_from_db()
    assert compass_batch.returned_on == SEPT_30
    assert AuditEvent.objects.count() == events


@time_machine.travel(TODAY, tick=False)
def test_return_is_all_or_nothing(
    back_office: User, compass_batch: Batch, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "record_case_returns", fail)

    with pytest.raises(RuntimeError):
        return_batch(compass_batch, back_office, SEPT_30)

    compass_batch.refresh_from_db()
    assert (compass_batch.state, compass_batch.returned_on) == (BatchState.OPEN, None)
    assert not compass_batch.cases.filter(state=CaseState.RETURNED).exists()
    assert not AuditEvent.objects.exists()


@time_machine.travel(TODAY, tick=False)
def test_a_batch_can_be_returned_on_the_day_it_was_assigned_or_today(
    back_office: User, compass_batch: Batch
) -> None:
    assert services.return_refusal(compass_batch, compass_batch.assigned_on) is None
    assert services.return_refusal(compass_batch, datetime.date(2025, 10, 15)) is None
