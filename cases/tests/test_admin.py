"""The admin pages load, and the audit trail cannot be changed through them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, User
from accounts.services import record_event
from cases.models import Case

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="incasso-test-pw"))
    return client


@pytest.mark.parametrize(
    "name",
    [
        "admin:cases_case_changelist",
        "admin:cases_debtor_changelist",
        "admin:creditors_creditor_changelist",
        "admin:creditors_batch_changelist",
        "admin:accounts_user_changelist",
        "admin:accounts_user_add",
        "admin:accounts_auditevent_changelist",
    ],
)
def test_admin_pages_load(superuser_client: Client, compass_case: Case, name: str) -> None:
    assert superuser_client.get(reverse(name)).status_code == 200


def test_case_change_page_shows_its_installments(
    superuser_client: Client, compass_case: Case
) -> None:
    url = reverse("admin:cases_case_change", args=[compass_case.pk])

    response = superuser_client.get(url)

    assert response.status_code == 200
    assert response.context["inline_admin_formsets"]


def test_audit_events_are_read_only(superuser_client: Client, compass_case: Case) -> None:
    event = record_event(None, AuditAction.VIEW, compass_case)

    add = superuser_client.get(reverse("admin:accounts_auditevent_add"))
    delete = superuser_client.post(
        reverse("admin:accounts_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert delete.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()
