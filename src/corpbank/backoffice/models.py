"""Bank operators (R-A1)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from corpbank.identity.models import Principal


class Operator(models.Model):
    principal = models.OneToOneField(Principal, on_delete=models.PROTECT, related_name="operator")
    login_name = models.CharField(max_length=30, unique=True)
    display_name = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.display_name} ({self.login_name})"
