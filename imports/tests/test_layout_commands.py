"""export_layout and import_layout: a layout moved between installations as JSON."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from accounts.models import AuditAction, AuditEvent, User
from creditors.models import Creditor
from imports.editor import definition_of, save_layout
from imports.models import Layout
from imports.tests.test_editor import definition, pre_invoice


@pytest.mark.django_db
def test_export_to_a_file_then_import_gives_the_same_layout(
    admin_user: User, compass: Creditor, tmp_path: Path
) -> None:
    layout = save_layout(definition(creditor="COMPASS"), user=admin_user)
    before = definition_of(layout)
    target = tmp_path / "banca.json"

    call_command("export_layout", "banca-esempio", "-o", str(target), stderr=io.StringIO())
    layout.delete()
    out = io.StringIO()
    call_command("import_layout", str(target), stdout=out)

    assert out.getvalue() == "Layout banca-esempio created.\n"
    assert definition_of(Layout.objects.get(slug="banca-esempio")) == before


@pytest.mark.django_db
def test_export_prints_the_document(admin_user: User) -> None:
    out = io.StringIO()
    call_command("export_layout", "compass-insoluti", stdout=out)
    document = json.loads(out.getvalue())
    assert (document["format"], document["version"], document["slug"]) == (
        "incasso-layout",
        1,
        "compass-insoluti",
    )
    assert document["columns"] == Layout.objects.get(slug="compass-insoluti").columns


@pytest.mark.django_db
def test_import_replaces_only_when_asked(admin_user: User, tmp_path: Path) -> None:
    layout = save_layout(definition(), user=admin_user)
    target = tmp_path / "banca.json"
    call_command("export_layout", layout.slug, "-o", str(target), stderr=io.StringIO())
    document = json.loads(target.read_text())
    document["name"] = "Banca Esempio 2027"
    target.write_text(json.dumps(document))

    with (
        pytest.raises(CommandError, match="already exists: choose to replace it"),
        translation.override("en"),
    ):
        call_command("import_layout", str(target))
    out = io.StringIO()
    call_command("import_layout", str(target), "--replace", stdout=out)

    assert out.getvalue() == "Layout banca-esempio replaced.\n"
    layout.refresh_from_db()
    assert layout.name == "Banca Esempio 2027"
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(layout.pk))
    assert event.user is None


@pytest.mark.django_db
def test_import_refuses_a_preset_a_bad_file_and_an_unknown_layout(tmp_path: Path) -> None:
    target = tmp_path / "preset.json"
    call_command("export_layout", "compass-affido", "-o", str(target), stderr=io.StringIO())
    with (
        pytest.raises(CommandError, match="built-in layout and is never replaced"),
        translation.override("en"),
    ):
        call_command("import_layout", str(target), "--replace")
    target.write_text("LOTTO;NUM_PRATICA")
    with pytest.raises(CommandError, match="is not JSON"), translation.override("en"):
        call_command("import_layout", str(target))
    with (
        pytest.raises(CommandError, match="There is no layout with the code “nessuno”"),
        translation.override("en"),
    ):
        call_command("export_layout", "nessuno")


@pytest.mark.django_db
def test_import_names_an_unknown_field_with_a_value_map(tmp_path: Path) -> None:
    document = {"format": "incasso-layout", "version": 1, **pre_invoice(foo={"header": "Foo"})}
    document["value_maps"] = {"foo": {"A": "B"}}
    target = tmp_path / "prefattura.json"
    target.write_text(json.dumps(document), encoding="utf-8")

    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("import_layout", str(target))

    assert str(refused.value) == "Unknown field “foo” for this kind of file."
    assert not Layout.objects.filter(slug="banca-prefattura").exists()
