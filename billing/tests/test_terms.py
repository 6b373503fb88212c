"""Commission terms per creditor, overridable per batch: pages, form rules, audit, scoping."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, Role, User
from billing.models import CommissionBasis, CommissionTerms
from billing.terms import terms_for_batch
from billing.tests.factories import CommissionTermsFactory, CommissionTierFactory
from conftest import make_user
from creditors.models import Batch, Creditor

pytestmark = pytest.mark.django_db


def edit_url(creditor: Creditor, batch: Batch | None = None) -> str:
    if batch is None:
        return reverse("billing:terms-edit", args=[creditor.pk])
    return reverse("billing:batch-terms-edit", args=[creditor.pk, batch.pk])


def terms_data(
    basis: str, rate: str, cap: str = "", tiers: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """The POST of the terms form with its tier formset (three empty rows, as the page has)."""
    rows = (tiers or []) + [("", "")] * 3
    data: dict[str, Any] = {
        "basis": basis,
        "rate": rate,
        "cap": cap,
        "tiers-TOTAL_FORMS": str(len(rows)),
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
    }
    for index, (threshold, rate_) in enumerate(rows):
        data[f"tiers-{index}-threshold"] = threshold
        data[f"tiers-{index}-rate"] = rate_
    return data


def test_back_office_sets_the_creditors_tiered_terms_and_it_is_audited(
    english: Client, back_office: User, compass: Creditor
) -> None:
    english.force_login(back_office)

    response = english.post(
        edit_url(compass),
        terms_data("case_age", "8.00", "500.00", [("90", "12.00"), ("180", "15.50")]),
    )

    assert response.status_code == 302
    terms = CommissionTerms.objects.get(creditor=compass, batch=None)
    assert (terms.basis, terms.rate, terms.cap) == ("case_age", Decimal("8.00"), Decimal("500.00"))
    assert [(t.threshold, t.rate) for t in terms.tiers.all()] == [
        (Decimal("90.00"), Decimal("12.00")),
        (Decimal("180.00"), Decimal("15.50")),
    ]
    event = AuditEvent.objects.get(object_type="billing.commissionterms")
    assert event.action == AuditAction.CREATE
    assert event.user == back_office
    assert event.after == {
        "basis": "case_age",
        "rate": "8.00",
        "cap": "500.00",
        "tiers": [["90.00", "12.00"], ["180.00", "15.50"]],
    }


def test_edit_pages_show_the_terms_and_their_tiers(
    client: Client, back_office: User, compass_batch: Batch
) -> None:
    compass = compass_batch.creditor
    tier = CommissionTierFactory(terms__creditor=compass, threshold=Decimal("90"))
    client.force_login(back_office)

    own = client.get(edit_url(compass))
    override = client.get(edit_url(compass, compass_batch))

    assert own.status_code == override.status_code == 200
    assert own.context["form"].instance == tier.terms
    assert [form.instance for form in own.context["tiers"].initial_forms] == [tier]
    assert override.context["form"].instance.pk is None
    assert override.context["form"].instance.batch == compass_batch


def test_a_change_records_before_and_after(
    client: Client, admin_user: User, compass: Creditor
) -> None:
    terms = CommissionTermsFactory(creditor=compass, rate=Decimal("10.00"))
    client.force_login(admin_user)

    client.post(edit_url(compass), terms_data("flat", "11.50"))

    event = AuditEvent.objects.get(object_id=str(terms.pk))
    assert event.action == AuditAction.UPDATE
    assert (event.before["rate"], event.after["rate"]) == ("10.00", "11.50")


def test_batch_override_applies_to_the_batch_and_can_be_removed(
    client: Client, back_office: User, compass_batch: Batch
) -> None:
    compass = compass_batch.creditor
    CommissionTermsFactory(creditor=compass, rate=Decimal("10.00"))
    client.force_login(back_office)

    client.post(edit_url(compass, compass_batch), terms_data("flat", "7.25"))
    overridden = terms_for_batch(compass_batch)
    client.post(reverse("billing:batch-terms-delete", args=[compass.pk, compass_batch.pk]))
    restored = terms_for_batch(compass_batch)

    assert overridden is not None
    assert (overridden.batch_id, overridden.rate) == (compass_batch.pk, Decimal("7.25"))
    assert restored is not None
    assert (restored.batch_id, restored.rate) == (None, Decimal("10.00"))
    assert AuditEvent.objects.filter(action=AuditAction.DELETE).count() == 1


def test_creditor_page_lists_its_terms_and_each_batch(
    english: Client, operator: User, compass_batch: Batch
) -> None:
    compass = compass_batch.creditor
    CommissionTermsFactory(creditor=compass, rate=Decimal("10.00"))
    CommissionTermsFactory(creditor=compass, batch=compass_batch, rate=Decimal("7.25"))
    english.force_login(operator)

    response = english.get(reverse("billing:creditor-terms", args=[compass.pk]))

    assert response.status_code == 200
    assert response.context["own_terms"].rate == Decimal("10.00")
    assert [(b.code, t.rate) for b, t in response.context["batches"]] == [
        ("LOTTO-2025-03", Decimal("7.25"))
    ]
    assert response.context["may_manage"] is False
    assert edit_url(compass) not in response.content.decode()


def test_tiers_read_as_days_or_as_euro_by_their_basis(
    english: Client, operator: User, compass_batch: Batch
) -> None:
    compass = compass_batch.creditor
    by_age = CommissionTermsFactory(creditor=compass, basis="case_age", rate=Decimal("18.00"))
    CommissionTierFactory(terms=by_age, threshold=Decimal("180"), rate=Decimal("15.00"))
    by_amount = CommissionTermsFactory(
        creditor=compass, batch=compass_batch, basis="recovered", rate=Decimal("10.00")
    )
    CommissionTierFactory(terms=by_amount, threshold=Decimal("1000"), rate=Decimal("12.00"))
    english.force_login(operator)

    content = english.get(reverse("billing:creditor-terms", args=[compass.pk])).content.decode()

    assert "<li>from day 180: 15.00%</li>" in content
    assert "<li>from € 1,000.00: 12.00%</li>" in content


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            terms_data("flat", "100.01"),
            {"rate": ["Ensure this value is less than or equal to 100."]},
        ),
        (terms_data("flat", "-1"), {"rate": ["Ensure this value is greater than or equal to 0."]}),
        (
            terms_data("flat", "5", "-3"),
            {"cap": ["Ensure this value is greater than or equal to 0."]},
        ),
    ],
)
def test_terms_form_rejects_impossible_values(
    english: Client, back_office: User, compass: Creditor, data: dict[str, Any], errors: Any
) -> None:
    english.force_login(back_office)

    response = english.post(edit_url(compass), data)

    assert response.status_code == 400
    assert response.context["form"].errors == errors
    assert not CommissionTerms.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            terms_data("flat", "5", tiers=[("90", "10")]),
            "One rate has no tiers: remove them, or choose a tiered basis.",
        ),
        (terms_data("case_age", "5"), "This basis needs at least one tier (from, rate)."),
        (terms_data("recovered", "5"), "This basis needs at least one tier (from, rate)."),
        (
            terms_data("recovered", "5", tiers=[("1000", "10"), ("1000.00", "12")]),
            "Each threshold may appear only once.",
        ),
    ],
)
def test_tier_rules(
    english: Client, back_office: User, compass: Creditor, data: dict[str, Any], error: str
) -> None:
    english.force_login(back_office)

    response = english.post(edit_url(compass), data)

    assert response.status_code == 400
    assert response.context["tiers"].non_form_errors() == [error]
    assert not CommissionTerms.objects.exists()


def test_tier_rate_over_100_is_refused(
    english: Client, back_office: User, compass: Creditor
) -> None:
    english.force_login(back_office)

    response = english.post(edit_url(compass), terms_data("case_age", "5", tiers=[("90", "101")]))

    assert response.status_code == 400
    assert response.context["tiers"].errors[0] == {
        "rate": ["Ensure this value is less than or equal to 100."]
    }


def test_removing_every_tier_when_switching_to_flat(
    client: Client, back_office: User, compass: Creditor
) -> None:
    tier = CommissionTierFactory(terms__creditor=compass, threshold=Decimal("90"))
    client.force_login(back_office)
    data = terms_data("flat", "9")
    data.update(
        {
            "tiers-TOTAL_FORMS": "4",
            "tiers-INITIAL_FORMS": "1",
            "tiers-0-id": str(tier.pk),
            "tiers-0-terms": str(tier.terms_id),
            "tiers-0-threshold": "90",
            "tiers-0-rate": "15",
            "tiers-0-DELETE": "on",
        }
    )
    for index in (1, 2, 3):
        data[f"tiers-{index}-threshold"] = data[f"tiers-{index}-rate"] = ""

    response = client.post(edit_url(compass), data)

    assert response.status_code == 302
    terms = CommissionTerms.objects.get()
    assert terms.basis == CommissionBasis.FLAT
    assert not terms.tiers.exists()


@pytest.mark.parametrize("persona", ["operator", "team_leader"])
def test_only_back_office_and_administrators_edit(
    client: Client, compass_batch: Batch, persona: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(persona))
    compass = compass_batch.creditor

    assert client.get(edit_url(compass)).status_code == 403
    assert client.post(edit_url(compass), terms_data("flat", "5")).status_code == 403
    assert client.post(edit_url(compass, compass_batch), terms_data("flat", "5")).status_code == 403
    assert not CommissionTerms.objects.exists()


def test_other_creditors_staff_get_404(
    client: Client, other_operator: User, compass_batch: Batch, axactor: Creditor
) -> None:
    compass = compass_batch.creditor
    CommissionTermsFactory(creditor=compass)
    client.force_login(other_operator)

    assert client.get(reverse("billing:creditor-terms", args=[compass.pk])).status_code == 404
    assert client.get(edit_url(compass)).status_code == 404
    assert client.post(edit_url(compass, compass_batch), terms_data("flat", "5")).status_code == 404
    index = client.get(reverse("billing:terms-index"))
    assert list(index.context["creditors"]) == [axactor]


def test_back_office_of_another_creditor_cannot_reach_its_batch(
    client: Client, compass_batch: Batch, axactor: Creditor
) -> None:
    ax_back_office = make_user("bo_axactor", Role.BACK_OFFICE, axactor)
    client.force_login(ax_back_office)

    # Axactor's creditor id with Compass's batch: the batch is not Axactor's.
    response = client.post(edit_url(axactor, compass_batch), terms_data("flat", "5"))

    assert response.status_code == 404
    assert not CommissionTerms.objects.exists()


def test_terms_index_query_count_does_not_grow_with_creditors(
    client: Client, admin_user: User
) -> None:
    client.force_login(admin_user)
    CommissionTierFactory(terms__creditor__code="FIRST")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("billing:terms-index")).status_code == 200

    for n in range(4):
        CommissionTierFactory(terms__creditor__code=f"MORE{n}")
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("billing:terms-index"))

    assert len(response.context["creditors"]) == 5
    assert len(many) == len(few)
