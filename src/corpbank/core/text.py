"""Typed text: the one place that says how what a person typed becomes the value the domain compares.

People in Japan type with the IME on: a code typed as ``１２３４５６``, a login ID as ``ｍａｓｔｅｒ０１`` or
with an ideographic space (U+3000) around it. Codes, PINs, login IDs, serial numbers, account, branch
and contract numbers and amounts are therefore taken with their full-width forms made half-width
(NFKC of the Fullwidth Forms block: full-width letters and digits become half-width) without
surrounding blanks (:func:`half_width`), and what still does not fit — a kanji, an
inner space — is refused with a message naming the field (:func:`login_id`, :func:`code`,
:func:`digits`), never compared. Passwords are not normalised: they are secrets chosen byte for byte.

Some characters no input may hold at all (:func:`unreadable`): NUL, which PostgreSQL cannot store in
text, the other C0 control characters but tab, line feed and carriage return, which nobody types, and
lone surrogates (U+D800–U+DFFF), which no encoder can write. The edge guard (``web/edge.py``) refuses
them once, for every request, before any of them reaches a view, a service or the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, time
from typing import Any

import jaconv
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from corpbank.core.errors import ValidationFailed

# Half-width letters, digits and symbols: printable ASCII without the space (R-B1).
_HALF_WIDTH = re.compile(r"[\x21-\x7e]*")
_DIGITS = re.compile(r"[0-9]+")
_UNREADABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


class InvalidCharacters(ValidationFailed):
    """An input holds a character that no input may hold (NUL, a control character, a lone surrogate)."""

    code = "invalid_characters"
    http_status = 422

    def __init__(self, fields: list[str]) -> None:
        super().__init__(
            _("入力内容に使用できない文字（制御文字など）が含まれています。入力し直してください。"),
            fields={field: _("使用できない文字が含まれています。") for field in fields},
        )


def unreadable(value: str) -> str | None:
    """The first character of ``value`` that no input may hold, or None."""
    found = _UNREADABLE.search(value)
    return found.group() if found else None


def shown(value: str) -> str:
    """``value`` with every unreadable character written as an escape (``\\x00``, ``\\ud800``), so that
    it can be named in a message, a log or a JSON answer."""
    return _UNREADABLE.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), value)


# What the IME types in full width: the full-width forms of ASCII (U+FF01–U+FF5E), of the signs
# ￠￡￢￣￤￥￦ (U+FFE0–U+FFE6), and the ideographic space. Other compatibility characters that NFKC
# would also fold into digits and letters (①, ², ㈠, ｶ) are nobody's way of typing a number: left as
# they are, the callers refuse them.
_FULL_WIDTH_FORMS = re.compile("[\u3000\uff01-\uff5e\uffe0-\uffe6]+")


def half_width(value: str) -> str:
    """The full-width forms made half-width (NFKC), then the surrounding blanks removed (the ideographic
    space too): ``"　ＡＢ１２ "`` is ``"AB12"``; ``"①"`` stays ``"①"``, which no code, number or amount
    takes. Never fails; what does not fit is the caller's to refuse. Idempotent."""
    return _FULL_WIDTH_FORMS.sub(lambda found: unicodedata.normalize("NFKC", found.group()), value).strip()


def search_text(value: str) -> str:
    """What is typed to search names (an operator's or a customer's, in the audit search): the whole of
    NFKC, so that ﾔﾏﾀﾞ finds ヤマダ as people's names are stored; never a code or an amount (those are
    :func:`half_width`'s)."""
    return unicodedata.normalize("NFKC", value).strip()


def half_width_kana(value: str) -> str:
    """A kana name as the Zengin format and the bank's records hold it: katakana (hiragana typed with
    the IME become katakana), then half-width kana, digits and letters (jaconv), letters in upper case,
    surrounding blanks removed: 「ぶらうざ　ろうくみ（カ）」 is ``ﾌﾞﾗｳｻﾞ ﾛｳｸﾐ(ｶ)``. What is not kana
    then is the caller's to refuse."""
    katakana = jaconv.hira2kata(value.strip(" \u3000"))
    return str(jaconv.z2h(katakana, kana=True, digit=True, ascii=True)).upper()


def is_half_width(value: str) -> bool:
    """Only half-width letters, digits and symbols (printable ASCII without the space)."""
    return _HALF_WIDTH.fullmatch(value) is not None


def is_digits(value: str) -> bool:
    """At least one digit, and only the digits 0–9 (str.isdigit also takes ``²`` and other scripts'
    digits, which are no code)."""
    return _DIGITS.fullmatch(value) is not None


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(_("入力内容をご確認ください。"), fields={field: message})


def code(value: str, *, field: str, label: str | Promise) -> str:
    """A code typed by a person (a serial number, a service or user ID, a contract number): half-width,
    and then nothing but half-width letters, digits and symbols, else a message naming the field."""
    typed = half_width(value)
    if not is_half_width(typed):
        raise _refuse(
            field,
            _("%(label)sは半角英数字で入力してください（空白は入れられません）。") % {"label": label},
        )
    return typed


def digits(value: str, *, field: str, label: str | Promise) -> str:
    """A number typed by a person (a one-time password, a PIN): half-width, then digits only."""
    typed = half_width(value)
    if not typed:
        raise _refuse(field, _("%(label)sを入力してください。") % {"label": label})
    if not is_digits(typed):
        raise _refuse(field, _("%(label)sは半角数字で入力してください。") % {"label": label})
    return typed


_AMOUNT = re.compile(r"[0-9]{1,3}(,[0-9]{3})+|[0-9]+")
MAX_AMOUNT_DIGITS = 13


def amount(value: str, *, field: str, label: str | Promise) -> int:
    """An amount of yen typed by a person: ``1000``, ``1,000``, ``１，０００`` or ``1,000円`` (full width
    normalised, commas where they group thousands, the yen sign dropped); refused, naming the field,
    when empty, zero, negative, not whole yen or longer than 13 digits."""
    typed = half_width(value).removesuffix("円").replace("¥", "").replace("\\", "").strip()
    if not typed:
        raise _refuse(field, _("%(label)sを入力してください。") % {"label": label})
    if _AMOUNT.fullmatch(typed) is None:
        raise _refuse(
            field,
            _("%(label)sは円単位の数字で入力してください（例：1000 または 1,000）。") % {"label": label},
        )
    digits_only = typed.replace(",", "").lstrip("0")
    if not digits_only:
        raise _refuse(field, _("%(label)sは1円以上で入力してください。") % {"label": label})
    if len(digits_only) > MAX_AMOUNT_DIGITS:
        raise _refuse(field, _("%(label)sは13桁以内で入力してください。") % {"label": label})
    return int(digits_only)


_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def clock_time(value: str, *, field: str, label: str | Promise) -> time:
    """A time of day typed by a person: ``15:00``, ``9:30`` or ``１５：００``; else a message naming the
    field."""
    found = _CLOCK.fullmatch(half_width(value))
    if found is None or int(found.group(1)) > 23 or int(found.group(2)) > 59:
        raise _refuse(field, _("%(label)sは「15:00」の形で入力してください。") % {"label": label})
    return time(int(found.group(1)), int(found.group(2)))


_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def calendar_date(value: str, *, field: str, label: str | Promise) -> date | None:
    """A date typed by a person: ``2026-12-01``, ``2026/12/1`` or ``２０２６／１２／０１`` (full-width,
    normalised); None for an empty field; else a message naming the field."""
    typed = half_width(value)
    if not typed:
        return None
    match = _DATE.fullmatch(typed)
    try:
        if match is None:
            raise ValueError(typed)
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise _refuse(
            field, _("%(label)sは「2026/12/01」の形で、存在する日付を入力してください。") % {"label": label}
        ) from None


def day(value: date) -> str:
    """A date as the screens, files and messages show it, in either language: 2026/12/01, the form
    :func:`calendar_date` reads back."""
    return value.strftime("%Y/%m/%d")


def required_date(value: str, *, field: str, label: str | Promise) -> date:
    """A date that must be typed (:func:`calendar_date`, and empty is told on the field)."""
    day = calendar_date(value, field=field, label=label)
    if day is None:
        raise _refuse(field, _("%(label)sを入力してください。") % {"label": label})
    return day


def idempotency_key(value: str, *, max_length: int) -> str:
    """A client's key for an order (the API's Idempotency-Key, a screen's one-time token): half-width,
    and refused past ``max_length``, never cut (two long keys cut alike would meet)."""
    key = half_width(value)
    if len(key) > max_length:
        raise ValidationFailed(
            _("Idempotency-Keyは%(max)d文字以内にしてください。") % {"max": max_length},
            fields={"idempotency_key": _("%(max)d文字以内にしてください。") % {"max": max_length}},
        )
    return key


def login_id(value: str, *, field: str = "login_id") -> str:
    """A login ID as typed at login, first registration, 利用者の追加 or in the back office: half-width,
    then only half-width letters, digits and symbols (R-B1). The message is about the characters alone:
    at login it says nothing about whether the ID exists (R-C6), and it counts against nobody."""
    typed = half_width(value)
    if not is_half_width(typed):
        raise _refuse(
            field, _("ログインIDは半角英数字記号で入力してください（全角文字・空白は使えません）。")
        )
    return typed


def name_problem(value: str, *, label: str | Promise, max_length: int) -> str | None:
    """What is wrong with a name typed by a person (a user's, an organization's), or None: empty,
    holding an invisible format character, or longer than the column that keeps it (PostgreSQL
    refuses a longer value; SQLite would keep it)."""
    typed = value.strip()
    if not typed:
        return _("%(label)sを入力してください。") % {"label": label}
    if any(unicodedata.category(character) == "Cf" for character in typed):
        # Invisible format characters (a zero-width space, a direction mark) make two names that look
        # alike different, or one that reads otherwise than it is written.
        return _("%(label)sに見えない文字（ゼロ幅スペースなど）が含まれています。入力し直してください。") % {
            "label": label
        }
    if len(typed) > max_length:
        return _("%(label)sは%(max)s文字以内で入力してください。") % {"label": label, "max": max_length}
    return None


# The longest serial number the stock keeps (tokens.models.Token.serial).
SERIAL_LENGTH = 40


# The longest reason a procedure keeps (緊急停止, 解約, 却下の理由).
REASON_LENGTH = 200


def reason(value: str, *, required: bool = False) -> str:
    """A reason typed by a person (緊急停止, 解約, 却下の理由), trimmed: refused on the field ``reason``
    when empty and ``required``, or longer than REASON_LENGTH. What was written is kept whole or not
    at all, never cut."""
    typed = value.strip()
    if required and not typed:
        raise _refuse("reason", _("理由を入力してください（例：PC紛失、不正利用の疑い）。"))
    if len(typed) > REASON_LENGTH:
        raise _refuse("reason", _("理由は%(max)d文字以内で入力してください。") % {"max": REASON_LENGTH})
    return typed


def serial(value: str, *, field: str = "serial", required: bool = False) -> str:
    """A token's serial number as typed: half-width and upper case, as the bank's stock holds it; one
    longer than any serial is refused (and never repeated back in a message), and an empty one when
    ``required``."""
    typed = code(value, field=field, label=_("シリアル番号")).upper()
    if required and not typed:
        raise _refuse(field, _("%(label)sを入力してください。") % {"label": _("シリアル番号")})
    if len(typed) > SERIAL_LENGTH:
        raise _refuse(field, _("シリアル番号は%(max)d文字以内で入力してください。") % {"max": SERIAL_LENGTH})
    return typed


def typed_together(*reads: Callable[[], Any]) -> tuple[Any, ...]:
    """Each of a form's typed values read by its function (``serial``, ``one_time_password`` …); the
    refusals of all of them told at once, field by field, rather than one per try."""
    values: list[Any] = []
    problems: dict[str, str] = {}
    for read in reads:
        try:
            values.append(read())
        except ValidationFailed as refused:
            problems.update(refused.fields)
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    return tuple(values)


def one_time_password(value: str, *, field: str = "otp") -> str:
    """A one-time password as typed: ワンタイムパスワード利用登録, 利用開始, the operations asking one."""
    return digits(value, field=field, label=_("ワンタイムパスワード"))
