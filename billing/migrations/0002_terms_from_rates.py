from django.db import migrations


def copy_rates(apps, schema_editor):
    """Creditors and batches had a bare commission rate; it becomes their flat terms."""
    Creditor = apps.get_model("creditors", "Creditor")
    Batch = apps.get_model("creditors", "Batch")
    CommissionTerms = apps.get_model("billing", "CommissionTerms")
    for creditor in Creditor.objects.exclude(commission_rate=0):
        CommissionTerms.objects.create(creditor=creditor, rate=creditor.commission_rate)
    for batch in Batch.objects.exclude(commission_rate__isnull=True):
        CommissionTerms.objects.create(
            creditor_id=batch.creditor_id, batch=batch, rate=batch.commission_rate
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(copy_rates, migrations.RunPython.noop)]
