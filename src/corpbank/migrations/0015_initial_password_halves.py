"""Operators' initial passwords in two halves, and login names lower-cased (security review of issue 12).

- ``OperatorPasswordHalf``: the first half of an operator's initial password, sealed until the
  administrator who entered the procedure is shown it once (the approver is shown the second half).
- Login names are stored lower-cased (after NFKC), so that they are unique whatever the case: the
  existing ones are lower-cased here, and the database refuses any other from now on. Two operators
  whose names differ only in case stop the migration with the names to rename first."""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models


def lower_case_login_names(apps, schema_editor):
    Operator = apps.get_model("corpbank", "Operator")
    seen: dict[str, str] = {}
    for pk, login_name in Operator.objects.order_by("pk").values_list("pk", "login_name"):
        lowered = login_name.lower()
        if lowered in seen:
            raise RuntimeError(
                f"operators {seen[lowered]!r} and {login_name!r} differ only in case: rename one of them "
                "in the database, then migrate again"
            )
        seen[lowered] = login_name
        if lowered != login_name:
            Operator.objects.filter(pk=pk).update(login_name=lowered)


class Migration(migrations.Migration):
    dependencies = [
        ("corpbank", "0014_backoffice_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="OperatorPasswordHalf",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sealed_half", models.BinaryField()),
                ("seed_key_id", models.CharField(max_length=40)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "action",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="operator_password_half",
                        to="corpbank.pendingaction",
                    ),
                ),
                (
                    "operator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="corpbank.operator"
                    ),
                ),
            ],
        ),
        migrations.RunPython(lower_case_login_names, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="operator",
            constraint=models.CheckConstraint(
                condition=models.Q(("login_name", django.db.models.functions.text.Lower("login_name"))),
                name="operator_login_name_lower",
            ),
        ),
    ]
