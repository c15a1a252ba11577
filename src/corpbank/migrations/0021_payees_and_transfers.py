"""Payees, single transfers and the bank's fee table (issue 14, R-G2, R-G4). The fee table starts with
the demo bank's fees (yen, tax included); a bank edits them in the back office."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

FEES = {
    ("same_branch", "under"): 0,
    ("same_branch", "from"): 0,
    ("other_branch", "under"): 110,
    ("other_branch", "from"): 110,
    ("other_bank", "under"): 330,
    ("other_bank", "from"): 550,
}


def write_fees(apps, schema_editor):
    FeeRule = apps.get_model("corpbank", "FeeRule")
    FeeRule.objects.bulk_create(
        FeeRule(destination=destination, band=band, fee=fee) for (destination, band), fee in FEES.items()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("corpbank", "0020_ledger_hardened"),
    ]

    operations = [
        migrations.CreateModel(
            name="FeeRule",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "destination",
                    models.CharField(
                        choices=[
                            ("same_branch", "当金庫同一店あて"),
                            ("other_branch", "当金庫本支店あて"),
                            ("other_bank", "他行あて"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "band",
                    models.CharField(choices=[("under", "3万円未満"), ("from", "3万円以上")], max_length=5),
                ),
                ("fee", models.PositiveIntegerField()),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("changed_by", models.CharField(blank=True, max_length=80)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("destination", "band"), name="fee_rule_once_per_cell"),
                    models.CheckConstraint(
                        condition=models.Q(("fee__lte", 100000)), name="fee_rule_fee_sensible"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Payee",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("bank_code", models.CharField(max_length=4)),
                ("bank_name", models.CharField(max_length=60)),
                ("branch_code", models.CharField(max_length=3)),
                ("branch_name", models.CharField(max_length=60)),
                ("type", models.CharField(choices=[("1", "普通"), ("2", "当座")], max_length=1)),
                ("number", models.CharField(max_length=7)),
                ("holder_kana", models.CharField(max_length=30)),
                ("nickname", models.CharField(blank=True, max_length=30)),
                ("registered_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "contract",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="payees",
                        to="corpbank.contract",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Transfer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("own_account", "振替（ご契約口座あて）"),
                            ("registered", "登録振込先"),
                            ("adhoc", "都度指定"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "destination",
                    models.CharField(
                        choices=[
                            ("same_branch", "当金庫同一店あて"),
                            ("other_branch", "当金庫本支店あて"),
                            ("other_bank", "他行あて"),
                        ],
                        max_length=12,
                    ),
                ),
                ("bank_code", models.CharField(max_length=4)),
                ("bank_name", models.CharField(max_length=60)),
                ("branch_code", models.CharField(max_length=3)),
                ("branch_name", models.CharField(max_length=60)),
                ("type", models.CharField(choices=[("1", "普通"), ("2", "当座")], max_length=1)),
                ("number", models.CharField(max_length=7)),
                ("holder_kana", models.CharField(max_length=30)),
                ("amount", models.BigIntegerField()),
                ("fee", models.PositiveIntegerField()),
                (
                    "fee_bearer",
                    models.CharField(
                        choices=[("payer", "当方負担"), ("payee", "先方負担")], default="payer", max_length=5
                    ),
                ),
                ("execution_date", models.DateField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("scheduled", "予約中"),
                            ("executed", "完了"),
                            ("failed", "不能"),
                            ("cancelled", "取消済"),
                        ],
                        max_length=10,
                    ),
                ),
                ("entered_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("failure", models.CharField(blank=True, max_length=200)),
                ("idempotency_key", models.CharField(blank=True, max_length=80)),
                ("request_digest", models.CharField(blank=True, max_length=64)),
                ("filed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "contract",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transfers",
                        to="corpbank.contract",
                    ),
                ),
                (
                    "entered_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transfers",
                        to="corpbank.customeruser",
                    ),
                ),
                (
                    "payee",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="corpbank.payee",
                    ),
                ),
                (
                    "posting",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="transfer",
                        to="corpbank.posting",
                    ),
                ),
                (
                    "source",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="transfers_out",
                        to="corpbank.account",
                    ),
                ),
                (
                    "source_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="corpbank.ledgeraccount",
                    ),
                ),
            ],
        ),
        migrations.AddConstraint(
            model_name="payee",
            constraint=models.UniqueConstraint(
                fields=("contract", "bank_code", "branch_code", "type", "number"),
                name="payee_once_per_contract",
            ),
        ),
        migrations.AddConstraint(
            model_name="payee",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("bank_code__regex", "^[0-9]{4}$"),
                    ("branch_code__regex", "^[0-9]{3}$"),
                    ("number__regex", "^[0-9]{7}$"),
                    models.Q(("holder_kana", ""), _negated=True),
                ),
                name="payee_well_formed",
            ),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(fields=["status", "execution_date"], name="transfer_due"),
        ),
        migrations.AddIndex(
            model_name="transfer",
            index=models.Index(fields=["contract", "execution_date"], name="transfer_contract_day"),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key", ""), _negated=True),
                fields=("entered_by", "idempotency_key"),
                name="transfer_idempotency_key_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0), ("amount__lte", 9999999999999)),
                name="transfer_amount_positive_13_digits",
            ),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(("fee_bearer", "payer"), ("amount__gt", models.F("fee")), _connector="OR"),
                name="transfer_covers_fee",
            ),
        ),
        migrations.AddConstraint(
            model_name="transfer",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("status", "executed"), ("finished_at__isnull", False), ("posting__isnull", False)
                    ),
                    models.Q(
                        ("status__in", ["failed", "cancelled"]),
                        ("finished_at__isnull", False),
                        ("posting__isnull", True),
                    ),
                    models.Q(
                        ("status", "scheduled"), ("finished_at__isnull", True), ("posting__isnull", True)
                    ),
                    _connector="OR",
                ),
                name="transfer_status_matches_posting",
            ),
        ),
        migrations.RunPython(write_fees, migrations.RunPython.noop),
        # Nullable, so that SQLite adds the column in place (ALTER TABLE ADD COLUMN), keeping the
        # posting table's triggers.
        migrations.AddField(
            model_name="posting",
            name="idempotency_key",
            field=models.CharField(blank=True, max_length=40, null=True),
        ),
        migrations.AddConstraint(
            model_name="posting",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key__isnull", False)),
                fields=("idempotency_key",),
                name="ledger_posting_key_once",
            ),
        ),
    ]
