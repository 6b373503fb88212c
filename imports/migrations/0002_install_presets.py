from django.db import migrations

from imports.presets import install_presets


def forwards(apps, schema_editor):
    install_presets(apps.get_model("imports", "Layout"))


class Migration(migrations.Migration):
    dependencies = [("imports", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
