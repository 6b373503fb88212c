from django.db import migrations

from imports.presets import install_presets


def forwards(apps, schema_editor):
    # The unpaid-installments preset now requires its unpaid date and fees columns.
    install_presets(apps.get_model("imports", "Layout"))


class Migration(migrations.Migration):
    dependencies = [("imports", "0005_leaner_indexes")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
