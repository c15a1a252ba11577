"""Business days, the cut-off and the helpdesk's hours (R-I1, R-G2, issue 14 item 2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import translation

from corpbank.calendar import days, services
from corpbank.core import audit
from corpbank.core.errors import NotFound, ValidationFailed
from corpbank.core.models import AuditEvent

TOKYO = ZoneInfo("Asia/Tokyo")
BANK = audit.Actor.system("test operator")


def at(moment: str):  # type: ignore[no-untyped-def]
    """The clock (tests.conftest ``clock``) set to a time in Tokyo."""
    return datetime.fromisoformat(moment).replace(tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture
def tokyo(monkeypatch):  # type: ignore[no-untyped-def]
    now = {"at": at("2026-12-01T10:00")}
    monkeypatch.setattr("django.utils.timezone.now", lambda: now["at"])

    def set_to(moment: str) -> None:
        now["at"] = at(moment)

    days.forget_closed_days()
    yield set_to
    days.forget_closed_days()


@pytest.mark.parametrize(
    ("day", "why"),
    [
        (date(2026, 12, 1), None),  # a Tuesday
        (date(2026, 12, 5), "土曜日"),
        (date(2026, 12, 6), "日曜日"),
        (date(2026, 11, 23), "勤労感謝の日"),
        (date(2026, 9, 22), "国民の休日"),
        (date(2026, 5, 6), "振替休日"),
        (date(2026, 12, 31), "年末年始"),
        (date(2027, 1, 1), "年末年始"),
        (date(2027, 1, 3), "年末年始"),
        (date(2027, 1, 4), None),
    ],
)
def test_r_i1_what_a_business_day_is(db, day, why):
    assert days.Calendar(day).why_closed(day) == why
    assert days.is_business_day(day) is (why is None)


def test_r_i1_business_day_arithmetic_across_the_new_year(db):
    assert days.next_business_day(date(2026, 12, 30)) == date(2027, 1, 4)
    assert days.next_business_day(date(2026, 12, 4)) == date(2026, 12, 7)
    # R-G3: salary data three business days before the payday.
    assert days.add_business_days(date(2026, 12, 25), -3) == date(2026, 12, 22)
    assert days.add_business_days(date(2026, 11, 25), -3) == date(2026, 11, 19)  # 11/23 is a holiday
    assert days.add_business_days(date(2026, 12, 29), 2) == date(2027, 1, 4)  # 12/30, then 1/4
    assert days.add_business_days(date(2026, 12, 1), 0) == date(2026, 12, 1)


def test_r_i1_a_closed_day_the_bank_adds_is_no_business_day(db, tokyo):
    services.add_closed_day(day=date(2026, 12, 8), reason="システム更改", actor=BANK)
    assert days.Calendar(date(2026, 12, 8)).why_closed(date(2026, 12, 8)) == "システム更改"
    assert days.next_business_day(date(2026, 12, 7)) == date(2026, 12, 9)
    assert AuditEvent.objects.filter(action="calendar.closed_day_added", details__day="2026-12-08").exists()
    services.remove_closed_day(day=date(2026, 12, 8), actor=BANK)
    assert days.is_business_day(date(2026, 12, 8))
    assert AuditEvent.objects.filter(action="calendar.closed_day_removed").exists()


@pytest.mark.parametrize(
    ("day", "reason", "field"),
    [
        (date(2026, 12, 1), "本日", "day"),  # today
        (date(2026, 11, 30), "昨日", "day"),
        (date(2026, 12, 5), "土曜", "day"),  # already closed
        (date(2026, 12, 31), "年末", "day"),
        (date(2026, 12, 8), "　 ", "reason"),  # full-width blank
        (date(2026, 12, 8), "長" * 61, "reason"),
    ],
)
def test_r_i1_a_closed_day_is_refused_with_the_field_named(db, tokyo, day, reason, field):
    with pytest.raises(ValidationFailed) as refused:
        services.add_closed_day(day=day, reason=reason, actor=BANK)
    assert field in refused.value.fields
    assert not AuditEvent.objects.filter(action="calendar.closed_day_added").exists()


def test_r_i1_a_closed_day_twice_and_an_unknown_one(db, tokyo):
    services.add_closed_day(day=date(2026, 12, 8), reason="臨時休業", actor=BANK)
    with pytest.raises(ValidationFailed):  # it is now closed already
        services.add_closed_day(day=date(2026, 12, 8), reason="臨時休業", actor=BANK)
    with pytest.raises(NotFound):
        services.remove_closed_day(day=date(2026, 12, 9), actor=BANK)
    with pytest.raises(ValidationFailed):
        services.remove_closed_day(day=date(2026, 12, 1), actor=BANK)


@pytest.mark.parametrize(
    ("now", "executes"),
    [
        ("2026-12-01T14:59:59", date(2026, 12, 1)),  # before the cut-off
        ("2026-12-01T15:00:00", date(2026, 12, 2)),  # at the cut-off: the next business day
        ("2026-12-04T16:00:00", date(2026, 12, 7)),  # Friday after the cut-off: Monday
        ("2026-12-05T10:00:00", date(2026, 12, 7)),  # Saturday
        ("2026-12-30T09:00:00", date(2026, 12, 30)),
        ("2026-12-30T15:30:00", date(2027, 1, 4)),  # the last business day of the year, too late
        ("2026-11-23T10:00:00", date(2026, 11, 24)),  # a national holiday
    ],
)
def test_r_g2_the_first_day_a_transfer_can_execute(db, tokyo, now, executes):
    tokyo(now)
    assert days.first_execution_day() == executes


def test_r_g2_the_bank_moves_the_cut_off(db, tokyo, settings):
    assert days.service_settings() == days.Settings(time(15, 0), 60)
    tokyo("2026-12-01T15:30")
    assert days.first_execution_day() == date(2026, 12, 2)
    services.change_service_settings(transfer_cutoff=time(16, 0), max_days_ahead=30, actor=BANK)
    assert days.service_settings() == days.Settings(time(16, 0), 30)
    assert days.first_execution_day() == date(2026, 12, 1)
    event = AuditEvent.objects.get(action="calendar.settings_changed")
    assert event.details == {"from": "15:00 / 60", "to": "16:00 / 30"}
    with pytest.raises(ValidationFailed) as refused:
        services.change_service_settings(transfer_cutoff=time(8, 0), max_days_ahead=0, actor=BANK)
    assert set(refused.value.fields) == {"transfer_cutoff", "max_days_ahead"}


@pytest.mark.parametrize(
    ("now", "is_open", "next_opens"),
    [
        ("2026-12-01T09:00", True, None),
        ("2026-12-01T17:59", True, None),
        ("2026-12-01T08:59", False, "2026-12-01T09:00"),
        ("2026-12-01T18:00", False, "2026-12-02T09:00"),
        ("2026-12-04T18:30", False, "2026-12-07T09:00"),  # Friday evening: Monday
        ("2026-12-05T12:00", False, "2026-12-07T09:00"),  # Saturday
        ("2026-12-30T18:00", False, "2027-01-04T09:00"),  # the year end
        ("2026-11-23T12:00", False, "2026-11-24T09:00"),  # a national holiday
    ],
)
def test_r_i1_whether_the_helpdesk_is_open_now(db, tokyo, now, is_open, next_opens):
    tokyo(now)
    status = days.helpdesk()
    assert status.open is is_open
    assert status.next_opens == (at(next_opens) if next_opens else None)
    assert ("受付時間内" if is_open else "受付時間外") in status.label


def test_r_i1_every_screen_and_the_api_say_whether_the_helpdesk_is_open(db, tokyo):
    client = Client()
    tokyo("2026-12-01T10:00")
    page = client.get("/login").content.decode()
    assert 'id="helpdesk-status">ただいま受付時間内です。' in page
    tokyo("2026-12-01T19:00")
    page = client.get("/login").content.decode()
    assert "ただいま受付時間外です（次の受付開始：12/2 (水) 09:00）。" in page
    answer = client.get("/api/v1/helpdesk").json()
    assert answer["open"] is False and answer["next_opens"] == "2026-12-02T09:00:00+09:00"
    assert answer["phone"] and "受付時間外" in answer["message"]
    english = client.get("/api/v1/helpdesk", headers={"Accept-Language": "en"}).json()
    assert "closed" in english["message"].lower()


def test_r_i1_a_holiday_is_named_in_the_user_s_language(db):
    with translation.override("en"):
        assert days.Calendar(date(2026, 11, 23)).why_closed(date(2026, 11, 23)) == "Labor Thanksgiving Day"
        assert days.Calendar(date(2026, 12, 5)).why_closed(date(2026, 12, 5)) == "Saturday"
