"""Operators' roles and second factor (issue 12 item 7).

Operators who existed before roles could enter and approve: they become approvers, so that the bank
keeps working; new operators are clerks unless an administrator says otherwise. Nobody becomes an
administrator here: the first one is made with ``corpbank createoperator --role admin``."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def existing_operators_approve(apps, schema_editor):
    apps.get_model("corpbank", "Operator").objects.update(role="approver")


class Migration(migrations.Migration):
    dependencies = [
        ("corpbank", "0013_unknown_login_ids"),
    ]

    operations = [
        migrations.CreateModel(
            name="OperatorTotp",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sealed_seed", models.BinaryField()),
                ("seed_key_id", models.CharField(max_length=40)),
                ("last_step", models.BigIntegerField(blank=True, null=True)),
                ("drift", models.SmallIntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name="operator",
            name="role",
            field=models.CharField(
                choices=[("clerk", "受付担当"), ("approver", "承認者"), ("admin", "管理者")],
                default="clerk",
                max_length=10,
            ),
        ),
        migrations.RunPython(existing_operators_approve, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="operator",
            constraint=models.CheckConstraint(
                condition=models.Q(("role__in", ["clerk", "approver", "admin"])), name="operator_role_known"
            ),
        ),
        migrations.AddField(
            model_name="operatortotp",
            name="operator",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE, related_name="totp", to="corpbank.operator"
            ),
        ),
    ]
