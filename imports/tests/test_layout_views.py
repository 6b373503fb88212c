"""The layout editor's pages per persona: list, create from a sample, preview, edit, JSON."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, User
from creditors.models import Creditor
from imports.editor import definition_of, export_document, save_layout
from imports.models import Layout
from imports.tests.helpers import run_file
from imports.tests.test_editor import HEADER, ROWS, definition, pre_invoice, sample_bytes
from imports.views_layouts import SAMPLES_KEY


@pytest.fixture(autouse=True)
def media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def compass_layout(admin_user: User, compass: Creditor) -> Layout:
    return save_layout(definition(creditor="COMPASS"), user=admin_user)


def upload_sample(client: Client, name: str = "Banca Esempio") -> str:
    """Step 1 of the editor; returns the address of the mapping grid it leads to."""
    sample = SimpleUploadedFile("banca_esempio.csv", sample_bytes(*ROWS))
    data = {"file": sample, "kind": "acquisition", "creditor": "COMPASS", "name": name}
    response = client.post(reverse("imports:layout-sample"), data)
    assert response.status_code == 302
    return str(response["Location"])


def grid_data(response: Any) -> dict[str, Any]:
    """The mapping form's values as the page shows them, ready to post back."""
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, "", False):
            data[name] = "on" if value is True else value
    for value_map in form.value_maps():
        for number, (code, ours) in enumerate(value_map["rows"]):
            data[f"vm-{value_map['field']}-code-{number}"] = code
            data[f"vm-{value_map['field']}-ours-{number}"] = ours
    return data


# --- who sees and who changes ----------------------------------------------------------------


@pytest.mark.django_db
def test_layouts_list_is_scoped_to_the_creditors_the_user_sees(
    compass_layout: Layout, operator: User, other_operator: User, admin_user: User
) -> None:
    for user, sees in ((operator, True), (other_operator, False), (admin_user, True)):
        response = client_for(user).get(reverse("imports:layout-list"))
        assert response.status_code == 200
        names = [layout.slug for layout in response.context["layouts"]]
        assert ("banca-esempio" in names) is sees
        assert "compass-affido" in names
    detail = reverse("imports:layout", args=[compass_layout.pk])
    assert client_for(other_operator).get(detail).status_code == 404
    export = reverse("imports:layout-export", args=[compass_layout.pk])
    assert client_for(other_operator).get(export).status_code == 404


@pytest.mark.django_db
def test_operators_read_layouts_but_change_nothing(compass_layout: Layout, operator: User) -> None:
    client = client_for(operator)
    assert client.get(reverse("imports:layout", args=[compass_layout.pk])).status_code == 200
    assert b"Edit" not in client.get(reverse("imports:layout", args=[compass_layout.pk])).content
    for name, method in (
        ("imports:layout-sample", "get"),
        ("imports:layout-import", "get"),
    ):
        assert getattr(client, method)(reverse(name)).status_code == 403
    for name, method in (
        ("imports:layout-edit", "get"),
        ("imports:layout-duplicate", "post"),
        ("imports:layout-delete", "post"),
    ):
        response = getattr(client, method)(reverse(name, args=[compass_layout.pk]))
        assert response.status_code == 403
    assert Layout.objects.filter(pk=compass_layout.pk).exists()
    assert not AuditEvent.objects.filter(user=operator).exists()


@pytest.mark.django_db
def test_a_preset_cannot_be_edited_but_can_be_duplicated(back_office: User) -> None:
    preset = Layout.objects.get(slug="compass-affido")
    client = client_for(back_office)
    assert client.get(reverse("imports:layout-edit", args=[preset.pk])).status_code == 403
    response = client.post(reverse("imports:layout-duplicate", args=[preset.pk]))
    copy = Layout.objects.get(slug="compass-affido-copy")
    assert response["Location"] == reverse("imports:layout-edit", args=[copy.pk])
    assert copy.creditor is not None and copy.creditor.code == "COMPASS"


@pytest.mark.django_db
def test_delete_says_why_a_used_layout_stays(
    compass_layout: Layout, back_office: User, compass: Creditor
) -> None:
    run_file(compass, compass_layout.slug, sample_bytes(*ROWS), dry_run=True)
    client = client_for(back_office)
    page = client.get(reverse("imports:layout-delete", args=[compass_layout.pk]))
    assert page.context["refusal"] == (
        "1 import job(s) were processed with this layout and their results refer to it: it "
        "cannot be deleted. Create a new layout instead."
    )
    response = client.post(reverse("imports:layout-delete", args=[compass_layout.pk]))
    assert response.status_code == 409
    assert Layout.objects.filter(pk=compass_layout.pk).exists()


@pytest.mark.django_db
def test_an_unused_layout_is_deleted_and_audited(compass_layout: Layout, team_leader: User) -> None:
    pk = compass_layout.pk
    response = client_for(team_leader).post(reverse("imports:layout-delete", args=[pk]))
    assert response["Location"] == reverse("imports:layout-list")
    assert not Layout.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.DELETE, object_id=str(pk))
    assert event.user == team_leader
    assert event.before is not None and event.before["slug"] == "banca-esempio"


# --- creating from a sample ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sample_shows_format_suggestions_and_codes(back_office: User) -> None:
    client = client_for(back_office)
    grid = client.get(upload_sample(client))

    assert grid.status_code == 200
    facts = dict(grid.context["file_format"])
    assert (facts["Delimiter"], facts["Header row"], facts["Encoding"]) == (
        "; (semicolon)",
        2,
        "cp1252",
    )
    form = grid.context["form"]
    assert form.headers == HEADER.split(";")
    fields = [form[f"field_{i}"].value() for i in range(len(form.headers))]
    assert fields[:10] == [
        "contract_number",
        "debtor_name",
        "tax_code",
        "street",
        "postcode",
        "city",
        "province",
        "installment_number",
        "due_date",
        "amount",
    ]
    assert fields[10] != "payment_method"  # "Canale" says nothing a suggestion can read


@pytest.mark.django_db
def test_a_bad_sample_is_refused_with_the_readers_message(back_office: User) -> None:
    client = client_for(back_office)
    sample = SimpleUploadedFile("estratto.pdf", b"%PDF-1.4 \x00\x01\x02")
    data = {"file": sample, "kind": "acquisition", "creditor": "COMPASS", "name": "X"}
    response = client.post(reverse("imports:layout-sample"), data)
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == [
        "This file is a PDF document, not a spreadsheet: export the data as an Excel Workbook "
        "(.xlsx) or a CSV file."
    ]
    assert SAMPLES_KEY not in client.session


@pytest.mark.django_db
def test_the_live_preview_follows_the_grid(back_office: User) -> None:
    client = client_for(back_office)
    grid_url = upload_sample(client)
    data = grid_data(client.get(grid_url))
    data["field_10"] = "payment_method"
    data["redraw"] = "1"
    preview_url = grid_url + "preview/"

    live = client.post(preview_url, data, headers={"HX-Request": "true"})

    assert live.status_code == 200
    value_maps = live.context["form"].value_maps()
    assert [(m["field"], m["rows"][:2]) for m in value_maps] == [
        ("payment_method", [("R", ""), ("P", "")])
    ]
    assert 'id="value-maps" ' in live.content.decode() and "hx-swap-oob" in live.content.decode()
    errors = [row.errors for row in live.context["preview"]["rows"]]
    assert errors[0].startswith("Row 3, column Canale: 'R' is not a known payment method")

    data.update({"vm-payment_method-code-0": "R", "vm-payment_method-ours-0": "SDD"})
    data.update({"vm-payment_method-code-1": "P", "vm-payment_method-ours-1": "BOL"})
    del data["redraw"]
    live = client.post(preview_url, data, headers={"HX-Request": "true"})
    preview = live.context["preview"]
    assert preview["errors"] == []
    assert [row.errors for row in preview["rows"]] == ["", "", ""]
    method = preview["names"].index("payment_method")
    assert [row.values[method] for row in preview["rows"]] == ["SDD", "SDD", "BOL"]
    assert "hx-swap-oob" not in live.content.decode()


@pytest.mark.django_db
def test_saving_the_grid_creates_the_layout_and_audits_it(back_office: User) -> None:
    client = client_for(back_office)
    grid_url = upload_sample(client)
    data = grid_data(client.get(grid_url))
    data.update({"field_10": "payment_method", "check_2": "reject", "width_0": "7"})
    data.update({"vm-payment_method-code-0": "R", "vm-payment_method-ours-0": "SDD"})

    response = client.post(grid_url, data)

    layout = Layout.objects.get(slug="banca-esempio")
    assert response["Location"] == reverse("imports:layout", args=[layout.pk])
    assert layout.creditor is not None and layout.creditor.code == "COMPASS"
    assert layout.columns["contract_number"] == {"header": "Pratica n.", "width": 7}
    assert layout.columns["tax_code"] == {"header": "C.F.", "check": "reject"}
    assert layout.columns["payment_method"] == {"header": "Canale"}
    assert layout.value_maps == {"payment_method": {"R": "SDD"}}
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_id=str(layout.pk), user=back_office
    ).exists()
    # The sample is gone with the editor that needed it.
    assert client.get(grid_url).status_code == 404


@pytest.mark.django_db
def test_the_grid_refuses_a_field_chosen_twice_and_a_missing_required_one(
    back_office: User,
) -> None:
    client = client_for(back_office)
    grid_url = upload_sample(client)
    data = grid_data(client.get(grid_url))
    data["field_1"] = "contract_number"
    response = client.post(grid_url, data)
    assert response.status_code == 400
    assert response.context["form"].errors["field_1"] == [
        "Contract number is already the column “Pratica n.”: choose it for one column only."
    ]
    data["field_1"] = ""
    data["field_10"] = "payment_method"
    response = client.post(grid_url, data)
    assert response.status_code == 400
    assert response.context["save_errors"] == [
        "Map a column to Debtor name / Debtor surname / Debtor first name: this kind of file "
        "needs it."
    ]
    assert not Layout.objects.filter(slug="banca-esempio").exists()


@pytest.mark.django_db
def test_the_grid_refuses_a_required_column_marked_optional(back_office: User) -> None:
    client = client_for(back_office)
    grid_url = upload_sample(client)
    data = grid_data(client.get(grid_url))
    data.update({"field_10": "payment_method", "vm-payment_method-code-0": "R"})
    data.update({"vm-payment_method-ours-0": "SDD", "optional_0": "on"})

    live = client.post(grid_url + "preview/", data, headers={"HX-Request": "true"})
    saved = client.post(grid_url, data)

    message = "Contract number cannot be optional: every file must have this column."
    assert live.context["preview"]["errors"] == [message]
    assert saved.status_code == 400
    assert saved.context["save_errors"] == [message]
    assert not Layout.objects.filter(slug="banca-esempio").exists()


@pytest.mark.django_db
def test_a_sample_uploaded_to_check_a_layout_can_start_a_new_one(
    compass_layout: Layout, back_office: User
) -> None:
    """The new layout takes the sample and the kind; its name and creditor are asked."""
    client = client_for(back_office)
    sample = SimpleUploadedFile("banca_esempio_2.csv", sample_bytes(*ROWS))
    checked = client.post(
        reverse("imports:layout-edit-sample", args=[compass_layout.pk]), {"file": sample}
    )
    token = checked["Location"].rsplit("?sample=", 1)[1]
    new_url = reverse("imports:layout-new", args=[token])

    grid = client.get(new_url)

    assert grid.status_code == 200
    form = grid.context["form"]
    assert [form[name].value() for name in ("name", "slug", "creditor")] == ["", "", ""]
    assert form["field_0"].value() == "contract_number"
    assert grid.context["preview"]["errors"] == [
        "Give the layout a name.",
        "Installments need a due date, an amount and a payment method: map Payment method too.",
    ]
    assert len(grid.context["preview"]["rows"]) == len(ROWS)

    data = grid_data(grid)
    data.update({"name": "Banca Esempio 2027", "slug": "banca-2027", "creditor": "COMPASS"})
    data.update({"field_10": "payment_method", "vm-payment_method-code-0": "R"})
    data["vm-payment_method-ours-0"] = "SDD"
    saved = client.post(new_url, data)

    layout = Layout.objects.get(slug="banca-2027")
    assert saved["Location"] == reverse("imports:layout", args=[layout.pk])
    assert (layout.kind, layout.creditor) == (compass_layout.kind, compass_layout.creditor)
    compass_layout.refresh_from_db()
    assert compass_layout.name == "Banca Esempio"


@pytest.mark.django_db
def test_a_sample_of_another_session_is_not_found(back_office: User, team_leader: User) -> None:
    grid_url = upload_sample(client_for(back_office))
    assert client_for(team_leader).get(grid_url).status_code == 404


# --- editing, JSON ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_editing_keeps_the_files_and_other_names(compass_layout: Layout, back_office: User) -> None:
    files = [
        {"name": "pratiche", "columns": {"contract_number": {"header": "Pratica n."}}},
        {"name": "garanti", "columns": {"contract_number": {"header": "Pratica n."}}},
    ]
    compass_layout.files = files
    compass_layout.columns["debtor_name"]["aliases"] = ["NOMINATIVO"]
    compass_layout.save()
    client = client_for(back_office)
    url = reverse("imports:layout-edit", args=[compass_layout.pk])
    data = grid_data(client.get(url))
    data["name"] = "Banca Esempio (2027)"

    client.post(url, data)

    compass_layout.refresh_from_db()
    assert compass_layout.name == "Banca Esempio (2027)"
    assert compass_layout.files == files
    assert compass_layout.columns == {
        **definition()["columns"],
        "debtor_name": {"header": "Intestatario", "aliases": ["NOMINATIVO"]},
    }
    assert compass_layout.value_maps == definition()["value_maps"]
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(compass_layout.pk))
    assert event.before is not None and event.before["name"] == "Banca Esempio"


@pytest.mark.django_db
def test_export_download_then_import_through_the_pages(
    compass_layout: Layout, back_office: User
) -> None:
    client = client_for(back_office)
    response = client.get(reverse("imports:layout-export", args=[compass_layout.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="layout-banca-esempio.json"'
    document = json.loads(response.content)
    assert document == json.loads(json.dumps(export_document(compass_layout)))
    before = definition_of(compass_layout)
    upload = SimpleUploadedFile("layout.json", response.content)

    refused = client.post(reverse("imports:layout-import"), {"file": upload})

    assert refused.status_code == 400
    assert refused.context["form"].non_field_errors() == [
        "A layout with the code “banca-esempio” already exists: choose to replace it, or "
        "change the code in the document."
    ]
    upload.seek(0)
    replaced = client.post(reverse("imports:layout-import"), {"file": upload, "replace": "on"})
    assert replaced["Location"] == reverse("imports:layout", args=[compass_layout.pk])
    compass_layout.refresh_from_db()
    assert definition_of(compass_layout) == before


@pytest.mark.django_db
def test_import_of_a_value_map_for_an_unknown_field_says_which(back_office: User) -> None:
    document = {
        "format": "incasso-layout",
        "version": 1,
        **pre_invoice(foo={"header": "Foo"}),
        "creditor": "COMPASS",
        "value_maps": {"foo": {"A": "B"}},
    }
    upload = SimpleUploadedFile("layout.json", json.dumps(document).encode())

    response = client_for(back_office).post(reverse("imports:layout-import"), {"file": upload})

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Unknown field “foo” for this kind of file."
    ]
    assert not Layout.objects.filter(slug="banca-prefattura").exists()


@pytest.mark.django_db
def test_import_of_a_file_that_is_not_json(back_office: User) -> None:
    upload = SimpleUploadedFile("layout.json", b"LOTTO;NUM_PRATICA")
    response = client_for(back_office).post(reverse("imports:layout-import"), {"file": upload})
    assert response.context["form"].errors["file"] == [
        "The file is not JSON: export the layout again and upload that file."
    ]


@pytest.mark.django_db
def test_the_menu_leads_to_the_layouts(operator: User) -> None:
    page = client_for(operator).get(reverse("cases:list")).content.decode()
    assert re.search(r'href="/imports/layouts/"[^>]*>Layouts<', page)


@pytest.mark.django_db
def test_choosing_a_checked_field_redraws_the_grid_with_its_default_policy(
    back_office: User,
) -> None:
    client = client_for(back_office)
    grid_url = upload_sample(client)
    data = grid_data(client.get(grid_url))
    data.update({"field_2": "", "field_1": "tax_code", "redraw": "1"})

    live = client.post(grid_url + "preview/", data, headers={"HX-Request": "true"})

    content = live.content.decode()
    assert '<div id="mapping-grid" hx-swap-oob="true">' in content
    rows = {row["header"]: row for row in live.context["form"].columns()}
    assert rows["Intestatario"]["checked"] is True
    assert rows["C.F."]["checked"] is False
    choices = dict(live.context["form"].fields["check_1"].choices)
    assert choices[""] == "default: keep it, with a warning"


@pytest.mark.django_db
def test_the_list_costs_the_same_queries_whatever_the_number_of_layouts(
    admin_user: User, back_office: User, django_assert_max_num_queries: Any
) -> None:
    for number in range(5):
        save_layout(definition(slug=f"banca-{number}", creditor="COMPASS"), user=admin_user)
    client = client_for(back_office)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("imports:layout-list"))
    assert len(response.context["layouts"]) == Layout.objects.count()


@pytest.mark.django_db
def test_a_layout_is_checked_against_a_new_sample(
    compass_layout: Layout, back_office: User
) -> None:
    client = client_for(back_office)
    edit_url = reverse("imports:layout-edit", args=[compass_layout.pk])
    bad_row = ROWS[2].replace(";P", ";X")
    sample = SimpleUploadedFile("banca_esempio_2.csv", sample_bytes(ROWS[0], bad_row))

    response = client.post(
        reverse("imports:layout-edit-sample", args=[compass_layout.pk]), {"file": sample}
    )

    assert response["Location"].startswith(edit_url + "?sample=")
    grid = client.get(response["Location"])
    form = grid.context["form"]
    assert form["field_10"].value() == "payment_method"
    assert form["check_2"].value() == "reject"
    rows = grid.context["preview"]["rows"]
    assert [row.errors for row in rows] == [
        "",
        "Row 4, column Canale: 'X' is not a known payment method (SDD, BOL, BON, CAR, CON, "
        "ALT); map it in the layout",
    ]


@pytest.mark.django_db
def test_a_big_sample_is_refused(back_office: User, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("imports.forms_layouts.SAMPLE_MAX_BYTES", 100)
    client = client_for(back_office)
    sample = SimpleUploadedFile("banca_esempio.csv", sample_bytes(*ROWS))
    data = {"file": sample, "kind": "acquisition", "creditor": "COMPASS", "name": "X"}
    response = client.post(reverse("imports:layout-sample"), data)
    assert response.context["form"].errors["file"] == [
        f"The sample is {len(sample_bytes(*ROWS))}\xa0bytes; a sample of up to 100\xa0bytes is "
        "enough (a few hundred rows): keep the first rows of the file and upload it again."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 200),
        ("team_leader", 200),
        ("back_office", 200),
        ("operator", 403),
        ("other_operator", 403),
    ],
)
def test_who_may_start_a_layout(persona: str, status: int, request: pytest.FixtureRequest) -> None:
    user: User = request.getfixturevalue(persona)
    assert client_for(user).get(reverse("imports:layout-sample")).status_code == status


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_log_in() -> None:
    response = Client().get(reverse("imports:layout-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db
def test_an_administrator_may_save_a_layout_for_any_creditor(admin_user: User) -> None:
    client = client_for(admin_user)
    sample = SimpleUploadedFile("banca_esempio.csv", sample_bytes(*ROWS))
    data = {"file": sample, "kind": "acquisition", "creditor": "", "name": "Banca Esempio"}
    grid_url = client.post(reverse("imports:layout-sample"), data)["Location"]
    form = grid_data(client.get(grid_url))
    form.update({"field_10": "payment_method", "vm-payment_method-code-0": "R"})
    form.update({"vm-payment_method-ours-0": "SDD"})
    client.post(grid_url, form)
    layout = Layout.objects.get(slug="banca-esempio")
    assert layout.creditor is None
