"""Personas and helpers shared by every app's tests."""

from __future__ import annotations

import pytest

from accounts.models import Role, User
from creditors.models import Creditor


@pytest.fixture
def compass(db: None) -> Creditor:
    return Creditor.objects.create(code="COMPASS", name="Compass Banca S.p.A.")


@pytest.fixture
def axactor(db: None) -> Creditor:
    return Creditor.objects.create(code="AXACTOR", name="Axactor Italy S.p.A.")


def make_user(username: str, role: Role, *creditors: Creditor) -> User:
    user = User.objects.create_user(username=username, password="incasso-test-pw", role=role)
    user.creditors.set(creditors)
    return user


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user("amministratore", Role.ADMINISTRATOR)


@pytest.fixture
def back_office(compass: Creditor) -> User:
    """Back office of Compass: may upload Compass files."""
    return make_user("backoffice", Role.BACK_OFFICE, compass)


@pytest.fixture
def operator(compass: Creditor) -> User:
    """A phone operator working Compass cases."""
    return make_user("operatore", Role.OPERATOR, compass)


@pytest.fixture
def team_leader(compass: Creditor) -> User:
    return make_user("capogruppo", Role.TEAM_LEADER, compass)


@pytest.fixture
def other_operator(axactor: Creditor) -> User:
    """An operator of another creditor: must never see Compass data."""
    return make_user("operatore_axactor", Role.OPERATOR, axactor)
