"""Business days (R-I1, issue 14): the days the bank closes besides the calendar's, and the settings the
back office edits (the same-day cut-off, how far ahead a transfer may be dated)."""

from django.db import migrations, models
from django.utils import timezone


class Migration(migrations.Migration):
    dependencies = [
        ("corpbank", "0017_ledger"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClosedDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField(unique=True)),
                ("reason", models.CharField(max_length=60)),
                ("added_at", models.DateTimeField(default=timezone.now)),
                ("added_by", models.CharField(max_length=80)),
            ],
            options={
                "ordering": ["day"],
            },
        ),
        migrations.CreateModel(
            name="ServiceSettings",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("transfer_cutoff", models.TimeField()),
                ("max_days_ahead", models.PositiveSmallIntegerField()),
                ("changed_at", models.DateTimeField(default=timezone.now)),
                ("changed_by", models.CharField(max_length=80)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="service_settings_one_row"),
                    models.CheckConstraint(
                        condition=models.Q(("max_days_ahead__gte", 1), ("max_days_ahead__lte", 365)),
                        name="service_settings_days_ahead_in_range",
                    ),
                ],
            },
        ),
    ]
