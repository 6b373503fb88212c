"""A debtor shared by two creditors: each creditor's users see only what its own files said."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import Debtor
from cases.tests.factories import CaseFactory
from creditors.models import Creditor
from imports.tests.helpers import AFFIDO_HEADER, csv_bytes, run_file

pytestmark = pytest.mark.django_db

COMPASS_ROW = (
    "CMP-1;0010019418;SANGUINETI TEMISTOCLE;SNGTST56P19D292A;VIA PO 3;10124;TORINO;TO;"
    "0639999111;;;PRESTITO PERSONALE;1;15/05/2025;489,17;SDD"
)


@pytest.fixture
def shared_case(compass: Creditor, axactor: Creditor) -> int:
    """Compass's file gave the debtor a phone and an address; Axactor has a case on them too."""
    run_file(compass, "compass-affido", csv_bytes(AFFIDO_HEADER, COMPASS_ROW))
    debtor = Debtor.objects.get(tax_code="SNGTST56P19D292A")
    return CaseFactory(creditor=axactor, main_party__debtor=debtor).pk


def page_and_api(user: User, case_id: int) -> tuple[str, str]:
    client = Client()
    client.force_login(user)
    page = client.get(reverse("cases:detail", args=[case_id])).content.decode()
    api = client.get(f"/api/cases/{case_id}/").content.decode()
    return page, api


def test_another_creditors_contacts_and_addresses_stay_hidden(
    shared_case: int, other_operator: User
) -> None:
    page, api = page_and_api(other_operator, shared_case)

    assert "SANGUINETI TEMISTOCLE" in page
    for text in (page, api):
        assert "0639999111" not in text
        assert "VIA PO 3" not in text


def test_an_administrator_sees_every_source(shared_case: int, admin_user: User) -> None:
    page, api = page_and_api(admin_user, shared_case)

    for text in (page, api):
        assert "0639999111" in text
        assert "VIA PO 3" in text
