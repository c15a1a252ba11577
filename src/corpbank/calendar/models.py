"""Days the bank closes besides the calendar's, and the settings the back office edits (R-I1)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ClosedDay(models.Model):
    """A day the bank is closed although the calendar says it is a business day (a system changeover,
    an extraordinary closure), added in the back office; transfers are not executed on it."""

    day = models.DateField(unique=True)
    reason = models.CharField(max_length=60)
    added_at = models.DateTimeField(default=timezone.now)
    added_by = models.CharField(max_length=80)

    class Meta:
        ordering = ["day"]


class ServiceSettings(models.Model):
    """The one row of the settings the back office edits: the cut-off for same-day transfers and how
    many days ahead a transfer may be dated. Until the bank edits them, the Django settings'
    (CORPBANK_TRANSFER_CUTOFF, CORPBANK_TRANSFER_MAX_DAYS_AHEAD)."""

    transfer_cutoff = models.TimeField()
    max_days_ahead = models.PositiveSmallIntegerField()
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.CharField(max_length=80)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="service_settings_one_row"),
            models.CheckConstraint(
                condition=models.Q(max_days_ahead__gte=1, max_days_ahead__lte=365),
                name="service_settings_days_ahead_in_range",
            ),
        ]
