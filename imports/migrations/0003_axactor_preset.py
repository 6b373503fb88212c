from django.db import migrations

from imports.presets import install_presets


def forwards(apps, schema_editor):
    # Installations migrated before the Axactor layout existed get it here; on a fresh database
    # 0002 has already installed every preset and this only refreshes them.
    install_presets(apps.get_model("imports", "Layout"))


class Migration(migrations.Migration):
    dependencies = [("imports", "0002_install_presets")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
