"""The chain head exists from the start, so two first-ever appends never race to create it."""

from django.db import migrations

GENESIS = "0" * 64


def create_head(apps, schema_editor):
    head = apps.get_model("corpbank", "AuditChainHead")
    head.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0002_audit_append_only")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
