"""The demo that `make run` loads: every page has something to show, and it loads twice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from pytest_django import Settings

from billing.models import CommissionTerms
from cases.models import Case, InstallmentStatus, Payment
from creditors.models import Creditor
from imports.models import ImportJob, JobStatus, Layout
from imports.presets import install_presets

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_demo_loads_a_worked_portfolio_and_example_files(
    settings: Settings, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    # The built-in layouts, which an earlier transactional test may have flushed away.
    install_presets(Layout)

    call_command("load_demo")
    call_command("load_demo")  # again: nothing doubles

    assert Case.objects.filter(batch__code="CMP-DEMO-001").count() == 300
    assert Case.objects.filter(installments__status=InstallmentStatus.UNPAID).exists()
    assert Payment.objects.count() == 6
    # The second run submitted nothing: no "already applied" job at every start.
    assert list(ImportJob.objects.values_list("status", flat=True)) == [JobStatus.DONE] * 2
    assert dict(Creditor.objects.values_list("code", "vat_number")) == {
        "AXACTOR": "04987650159",
        "COMPASS": "03123450151",
    }
    assert CommissionTerms.objects.get(creditor__code="COMPASS").rate == Decimal("12.00")
    assert sorted(p.name for p in (tmp_path / "examples").iterdir()) == [
        "compass_affido_esempio.csv",
        "compass_insoluti_esempio.csv",
        "compass_prefattura_esempio.csv",
    ]
