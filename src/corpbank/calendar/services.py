"""The back office's changes to the calendar (R-I1): the days the bank closes besides the calendar's,
the cut-off for same-day transfers and how far ahead a transfer may be dated. Each is one transaction
with its audit event (R-I3)."""

from __future__ import annotations

from datetime import date, time

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.calendar import days
from corpbank.calendar.models import ClosedDay, ServiceSettings
from corpbank.core import audit, text
from corpbank.core.errors import Conflict, NotFound, ValidationFailed

MAX_REASON = 60


def add_closed_day(*, day: date, reason: str, actor: audit.Actor) -> ClosedDay:
    """臨時休業日の登録: a future business day on which the bank is closed."""
    reason = " ".join(reason.split())
    problems = {}
    if not reason:
        problems["reason"] = _("休業の理由を入力してください。")
    elif len(reason) > MAX_REASON:
        problems["reason"] = _("休業の理由は%(max)d文字以内で入力してください。") % {"max": MAX_REASON}
    if day <= days.today():
        problems["day"] = _("明日以降の日付を指定してください。")
    else:
        already = days.Calendar(day, days=0).why_closed(day)
        if already is not None:
            problems["day"] = _("%(day)sはすでに休業日です（%(why)s）。") % {
                "day": text.day(day),
                "why": already,
            }
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    try:
        with transaction.atomic():
            closed = ClosedDay.objects.create(day=day, reason=reason, added_by=actor.label)
            audit.record(
                "calendar.closed_day_added", actor=actor, details={"day": day.isoformat(), "reason": reason}
            )
    except IntegrityError as taken:  # the same day, added at the same moment by someone else
        raise Conflict(_("%(day)sはすでに休業日に登録されています。") % {"day": text.day(day)}) from taken
    days.forget_closed_days()
    return closed


def remove_closed_day(*, day: date, actor: audit.Actor) -> None:
    """臨時休業日の取消: only a day still to come (a day that has passed is history)."""
    if day <= days.today():
        raise ValidationFailed(_("過ぎた日・本日の休業日は取り消せません。"), fields={"day": str(day)})
    with transaction.atomic():
        deleted, _kinds = ClosedDay.objects.filter(day=day).delete()
        if not deleted:
            raise NotFound(_("%(day)sは休業日に登録されていません。") % {"day": text.day(day)})
        audit.record("calendar.closed_day_removed", actor=actor, details={"day": day.isoformat()})
    days.forget_closed_days()


def change_service_settings(*, transfer_cutoff: time, max_days_ahead: int, actor: audit.Actor) -> None:
    """当日扱いの締切時刻と予約可能日数の変更."""
    problems = {}
    if not time(9, 0) <= transfer_cutoff <= time(23, 59):
        problems["transfer_cutoff"] = _("締切時刻は9:00から23:59の間で指定してください。")
    if not 1 <= max_days_ahead <= 365:
        problems["max_days_ahead"] = _("予約可能日数は1日から365日の間で指定してください。")
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    before = days.service_settings()
    with transaction.atomic():
        ServiceSettings.objects.update_or_create(
            pk=1,
            defaults={
                "transfer_cutoff": transfer_cutoff,
                "max_days_ahead": max_days_ahead,
                "changed_by": actor.label,
                "changed_at": timezone.now(),
            },
        )
        audit.record(
            "calendar.settings_changed",
            actor=actor,
            details={
                "from": f"{before.transfer_cutoff:%H:%M} / {before.max_days_ahead}",
                "to": f"{transfer_cutoff:%H:%M} / {max_days_ahead}",
            },
        )
