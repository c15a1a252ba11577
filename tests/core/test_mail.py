"""The demo's mail in the terminal (issue 12 item 15): `make run` prints each mail with its subject and
body readable, not MIME-encoded."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.core import mail as django_mail
from django.core.mail import EmailMessage

from corpbank.core import mail
from corpbank.core.mail import ConsoleEmailBackend

ROOT = Path(__file__).resolve().parents[2]
SUBJECT = "【コープ労働金庫】ワンタイムパスワード申請お取扱い開始のご案内"
BODY = "組合 太郎 様\n\nワンタイムパスワード申請のお取扱いを開始しました。\n" + "長い行です。" * 30 + "\n"


def printed(message: EmailMessage) -> str:
    stream = io.StringIO()
    ConsoleEmailBackend(stream=stream).send_messages([message])
    return stream.getvalue()


def test_the_console_backend_prints_the_subject_and_the_body_readable():
    out = printed(EmailMessage(SUBJECT, BODY, "ib-noreply@corpbank.example", ["組合 <taro@example.jp>"]))
    assert f"Subject: {SUBJECT}\n" in out
    assert "From: ib-noreply@corpbank.example\n" in out and "To: 組合 <taro@example.jp>\n" in out
    assert BODY in out  # neither base64 nor quoted-printable
    assert "=?utf-8?" not in out.lower()
    assert re.search(r"^Date: .+\d{4}", out, re.MULTILINE)


def test_what_django_s_own_console_backend_prints_is_unreadable():
    """Why the subclass exists: Django's prints the encoded subject."""
    stream = io.StringIO()
    django_mail.get_connection("django.core.mail.backends.console.EmailBackend", stream=stream).send_messages(
        [EmailMessage(SUBJECT, BODY, "ib-noreply@corpbank.example", ["taro@example.jp"])]
    )
    assert f"Subject: {SUBJECT}" not in stream.getvalue()


def test_make_run_prints_mail_through_it(settings, capsys, db, django_capture_on_commit_callbacks):
    """The Makefile's run target names it, and a mail sent after an act's commit comes out readable."""
    makefile = (ROOT / "Makefile").read_text()
    backend = re.search(r"^run: export CORPBANK_EMAIL_BACKEND \?= (\S+)$", makefile, re.MULTILINE)
    assert backend and backend.group(1) == "corpbank.core.mail.ConsoleEmailBackend"
    settings.EMAIL_BACKEND = backend.group(1)
    with django_capture_on_commit_callbacks(execute=True):
        mail.send_after_commit(to="taro@example.jp", subject=SUBJECT, body=BODY)
    out = capsys.readouterr().out
    assert f"Subject: {SUBJECT}\n" in out and BODY in out
