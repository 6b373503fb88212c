from django.db import migrations

from imports.presets import install_presets


def forwards(apps, schema_editor):
    # The portfolio presets now check postcode, comune and province against ISTAT's list.
    install_presets(apps.get_model("imports", "Layout"))


class Migration(migrations.Migration):
    dependencies = [("imports", "0009_prefattura_preset")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
