"""Cases shared by the case tests: one Compass case whose total requested is known."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cases.models import Case, InstallmentStatus
from cases.tests.factories import CaseFactory, InstallmentFactory
from creditors.models import Creditor


@pytest.fixture
def compass_case(compass: Creditor) -> Case:
    """Two unpaid installments (100,00 + 5,16 fees, and 200,00) and one still due: 305,16."""
    case = CaseFactory(
        creditor=compass,
        contract_number="0012345678",
        main_party__debtor__name="Mario Rossi",
        main_party__debtor__tax_code="RSSMRA80A01H501U",
    )
    InstallmentFactory(
        case=case,
        number=1,
        amount=Decimal("100.00"),
        fees=Decimal("5.16"),
        status=InstallmentStatus.UNPAID,
    )
    InstallmentFactory(
        case=case, number=2, amount=Decimal("200.00"), status=InstallmentStatus.UNPAID
    )
    InstallmentFactory(case=case, number=3, amount=Decimal("300.00"), status=InstallmentStatus.DUE)
    return case
