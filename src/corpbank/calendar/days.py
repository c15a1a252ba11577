"""Business days, the cut-off and the helpdesk's hours (R-I1). Times are the bank's (Asia/Tokyo)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from datetime import date, datetime, time, timedelta
from time import monotonic

import holidays
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from corpbank.calendar.models import ClosedDay, ServiceSettings

logger = logging.getLogger(__name__)

HELPDESK_OPENS, HELPDESK_CLOSES = time(9, 0), time(18, 0)
# How far business-day arithmetic looks before it gives up: longer than any closure a bank could add.
_MAX_SEARCH = 366


def _national(year: int) -> holidays.HolidayBase:
    """Japan's national holidays and the banks' 1–3 January and 31 December, named in the language of
    the request (Japanese, or English)."""
    return _holidays(year, "en_US" if (get_language() or "ja").startswith("en") else "ja")


@functools.lru_cache(maxsize=32)
def _holidays(year: int, language: str) -> holidays.HolidayBase:
    return holidays.country_holidays(
        "JP", years=year, categories=(holidays.PUBLIC, holidays.BANK), language=language
    )


def _closed_days(start: date, end: date) -> dict[date, str]:
    return dict(ClosedDay.objects.filter(day__range=(start, end)).values_list("day", "reason"))


# The closed days as the footer's helpdesk notice reads them on every page: kept for a minute per
# process (a notice a minute late is harmless; every decision about money reads them afresh).
_SHOWN: dict[str, object] = {}
_SHOWN_FOR = 60.0


def _closed_days_shown(start: date, end: date) -> dict[date, str]:
    key = (start, end)
    if _SHOWN.get("key") != key or monotonic() - float(_SHOWN.get("at", 0.0)) > _SHOWN_FOR:  # type: ignore[arg-type]
        try:
            days = _closed_days(start, end)
        except DatabaseError:
            # A page shown while the database is away (its error page) still says the helpdesk's
            # hours; the notice then knows only the calendar's days, for this once.
            logger.warning("closed days unreadable: the helpdesk notice uses the calendar alone")
            return {}
        _SHOWN.update(key=key, at=monotonic(), days=days)
    return _SHOWN["days"]  # type: ignore[return-value]


def closed_days_ahead() -> list[ClosedDay]:
    """The closed days the bank has added, from today on (the back office's list)."""
    return list(ClosedDay.objects.filter(day__gte=today()))


def forget_closed_days() -> None:
    """After the back office changed the closed days: this process reads them afresh."""
    _SHOWN.clear()


class Calendar:
    """Business-day arithmetic over one read of the bank's closed days around ``around`` (one query,
    however many days a question looks at)."""

    def __init__(self, around: date, days: int = _MAX_SEARCH, *, for_display: bool = False) -> None:
        read = _closed_days_shown if for_display else _closed_days
        self._closed = read(around - timedelta(days=days), around + timedelta(days=days))

    def why_closed(self, day: date) -> str | None:
        """Why ``day`` is not a business day (土曜日, a holiday's name, 年末年始, the bank's reason),
        or None when it is one."""
        if day in self._closed:
            return self._closed[day]
        if (day.month, day.day) in ((12, 31), (1, 1), (1, 2), (1, 3)):
            return _("年末年始")
        national = _national(day.year).get(day)
        if national:
            return str(national).split(";")[-1].strip()
        if day.weekday() == 5:
            return _("土曜日")
        if day.weekday() == 6:
            return _("日曜日")
        return None

    def is_business_day(self, day: date) -> bool:
        return self.why_closed(day) is None

    def on_or_after(self, day: date) -> date:
        for offset in range(_MAX_SEARCH):
            candidate = day + timedelta(days=offset)
            if self.is_business_day(candidate):
                return candidate
        raise RuntimeError(f"no business day within {_MAX_SEARCH} days of {day}")

    def after(self, day: date) -> date:
        return self.on_or_after(day + timedelta(days=1))

    def add(self, day: date, count: int) -> date:
        """The ``count``-th business day after ``day`` (before it, for a negative count): the salary
        data's deadline is ``add(payday, -3)`` (R-G3)."""
        step = 1 if count >= 0 else -1
        current, left = day, abs(count)
        for _offset in range(_MAX_SEARCH * 2):
            if left == 0:
                return current
            current += timedelta(days=step)
            if self.is_business_day(current):
                left -= 1
        raise RuntimeError(f"no {count} business days from {day} within {_MAX_SEARCH * 2} days")


def today() -> date:
    return timezone.localdate()


def is_business_day(day: date) -> bool:
    return Calendar(day, days=0).is_business_day(day)


def next_business_day(day: date) -> date:
    return Calendar(day).after(day)


def add_business_days(day: date, count: int) -> date:
    return Calendar(day).add(day, count)


@dataclasses.dataclass(frozen=True)
class Settings:
    transfer_cutoff: time
    max_days_ahead: int


def service_settings() -> Settings:
    """The cut-off for same-day transfers and the farthest date ahead: the back office's, else the
    Django settings'."""
    row = ServiceSettings.objects.filter(pk=1).first()
    if row is not None:
        return Settings(row.transfer_cutoff, row.max_days_ahead)
    return Settings(settings.CORPBANK_TRANSFER_CUTOFF, settings.CORPBANK_TRANSFER_MAX_DAYS_AHEAD)


def first_execution_day(now: datetime | None = None) -> date:
    """The earliest day a transfer entered at ``now`` executes: today if it is a business day and the
    cut-off has not passed, else the next business day (R-G2)."""
    local = timezone.localtime(now or timezone.now())
    calendar = Calendar(local.date())
    if calendar.is_business_day(local.date()) and local.time() < service_settings().transfer_cutoff:
        return local.date()
    return calendar.after(local.date())


@dataclasses.dataclass(frozen=True)
class HelpdeskStatus:
    open: bool
    next_opens: datetime | None  # when it opens next, while it is closed

    @property
    def label(self) -> str:
        if self.open:
            return _("ただいま受付時間内です。")
        if self.next_opens is None:  # pragma: no cover - a business day always comes
            return _("ただいま受付時間外です。")
        return _("ただいま受付時間外です（次の受付開始：%(when)s）。") % {
            "when": date_format(timezone.localtime(self.next_opens), "n/j (D) H:i")
        }


def helpdesk(now: datetime | None = None) -> HelpdeskStatus:
    """Whether the helpdesk (phone) is open now: business days 9:00–18:00 (R-I1)."""
    local = timezone.localtime(now or timezone.now())
    calendar = Calendar(local.date(), days=31, for_display=True)
    if calendar.is_business_day(local.date()) and HELPDESK_OPENS <= local.time() < HELPDESK_CLOSES:
        return HelpdeskStatus(open=True, next_opens=None)
    day = local.date() if local.time() < HELPDESK_OPENS else calendar.after(local.date())
    day = calendar.on_or_after(day)
    opens = timezone.make_aware(datetime.combine(day, HELPDESK_OPENS), timezone.get_current_timezone())
    return HelpdeskStatus(open=False, next_opens=opens)


@dataclasses.dataclass(frozen=True)
class ServiceHours:
    """ご利用時間 of one operation, as screens and the API show it."""

    operation: str
    label: str
    hours: str


def service_hours() -> list[ServiceHours]:
    """ご利用時間 per operation (R-I1): what a customer may do when. Inquiry, scheduled transfers and the
    registrations are open every day around the clock; a transfer executes the same day only on a
    business day before the cut-off (a setting); the helpdesk answers on business days 9:00–18:00."""
    current = service_settings()
    cutoff = f"{current.transfer_cutoff:%H:%M}"
    return [
        ServiceHours("inquiry", _("照会（残高・入出金明細）"), _("毎日 0:00～24:00")),
        ServiceHours(
            "transfer_same_day", _("振込振替（当日扱い）"), _("営業日 0:00～%(cutoff)s") % {"cutoff": cutoff}
        ),
        ServiceHours(
            "transfer_scheduled",
            _("振込振替（予約扱い）"),
            _("毎日 0:00～24:00（%(days)d日先の営業日まで）") % {"days": current.max_days_ahead},
        ),
        ServiceHours("registrations", _("振込先管理・利用者管理"), _("毎日 0:00～24:00")),
        ServiceHours(
            "helpdesk",
            _("ヘルプデスク"),
            _("営業日 %(opens)s～%(closes)s")
            % {"opens": f"{HELPDESK_OPENS:%-H:%M}", "closes": f"{HELPDESK_CLOSES:%-H:%M}"},
        ),
    ]
