"""The audit chain no longer queues every audited act on one row (issue 13): an event is written on its
own, and a sealer gives it its place afterwards, in a seal of its own (position, HMAC under a key kept
off the database). Seals are append-only like events.

The events written before this migration lose their SHA-256 links, after the migration has checked
them: a chain that does not hold stops the upgrade (its events would otherwise be sealed as they are
now). The first seal after it chains them, in the order of their ids, under the audit key."""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import migrations, models

from corpbank.migrations._vendor import run_sql

GENESIS = "0" * 64


def old_digest(previous, event):
    """The SHA-256 link of 0002–0015: the canonical JSON of the event with the previous hash in it."""
    body = {
        "previous": previous,
        "at": event.at.isoformat(),
        "action": event.action,
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "actor_label": event.actor_label,
        "subject_user_id": event.subject_user_id,
        "contract_id": event.contract_id,
        "ip_address": event.ip_address,
        "details": event.details,
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(text.encode()).hexdigest()


def the_old_chain_holds(apps, schema_editor):
    events = apps.get_model("corpbank", "AuditEvent")
    previous = GENESIS
    for event in events.objects.order_by("id").iterator(chunk_size=2000):
        if event.previous_hash != previous or old_digest(previous, event) != event.hash:
            raise RuntimeError(
                f"the audit chain is broken at event {event.pk}: restore the database from a backup taken "
                "before it was changed, then upgrade (issue 13, migration 0016)"
            )
        previous = event.hash
    head = apps.get_model("corpbank", "AuditChainHead").objects.filter(pk=1).first()
    if head is not None and head.last_hash != previous:
        raise RuntimeError("the audit chain's head names an event that is missing: restore before upgrading")


# The function of 0002 refuses any change; seals are protected by the same.
POSTGRES = """
CREATE TRIGGER corpbank_auditseal_no_update BEFORE UPDATE OR DELETE ON corpbank_auditseal
    FOR EACH ROW EXECUTE FUNCTION corpbank_audit_append_only();
"""
POSTGRES_REVERSE = "DROP TRIGGER IF EXISTS corpbank_auditseal_no_update ON corpbank_auditseal;"
SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS corpbank_auditseal_no_update BEFORE UPDATE ON corpbank_auditseal
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditseal is append-only'); END;""",
    """CREATE TRIGGER IF NOT EXISTS corpbank_auditseal_no_delete BEFORE DELETE ON corpbank_auditseal
           BEGIN SELECT RAISE(ABORT, 'corpbank_auditseal is append-only'); END;""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS corpbank_auditseal_no_update;",
    "DROP TRIGGER IF EXISTS corpbank_auditseal_no_delete;",
]


def restart_head(apps, schema_editor):
    """Nothing is sealed yet: the sealer starts from the first event."""
    head = apps.get_model("corpbank", "AuditChainHead")
    head.objects.update_or_create(
        pk=1,
        defaults={"last_hash": GENESIS, "last_position": 0, "last_transaction_id": 0, "last_event_id": 0},
    )


class Migration(migrations.Migration):
    dependencies = [("corpbank", "0015_initial_password_halves")]

    operations = [
        migrations.RunPython(the_old_chain_holds, migrations.RunPython.noop),
        migrations.RemoveField(model_name="auditevent", name="hash"),
        migrations.RemoveField(model_name="auditevent", name="previous_hash"),
        migrations.AddField(
            model_name="auditevent", name="transaction_id", field=models.BigIntegerField(default=0)
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["transaction_id", "id"], name="corpbank_audit_sealing_order"),
        ),
        migrations.AddField(
            model_name="auditchainhead", name="last_position", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="auditchainhead", name="last_transaction_id", field=models.BigIntegerField(default=0)
        ),
        migrations.AddField(
            model_name="auditchainhead", name="floor_event_id", field=models.BigIntegerField(default=0)
        ),
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                ("position", models.BigIntegerField(primary_key=True, serialize=False)),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=models.PROTECT,
                        related_name="seal",
                        to="corpbank.auditevent",
                    ),
                ),
                ("key_id", models.CharField(max_length=40)),
                ("mac", models.CharField(max_length=64)),
            ],
        ),
        migrations.RunPython(restart_head, migrations.RunPython.noop),
        run_sql(POSTGRES, POSTGRES_REVERSE, SQLITE, SQLITE_REVERSE),
    ]
