from django.db import migrations

from imports.presets import install_presets


def forwards(apps, schema_editor):
    # Installations migrated before the pre-invoice layout existed get it here.
    install_presets(apps.get_model("imports", "Layout"))


class Migration(migrations.Migration):
    dependencies = [("imports", "0008_payments_pre_invoices_multi_file")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
