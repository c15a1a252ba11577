"""全銀協 総合振込 (種別コード 21): the interbank outgoing file of one execution day, the transfers to other
banks that the back office downloads and hands on to the interbank clearing, and the reader that checks
such a file back.

One file, one requester: the day's transfers come from many customers, but a Zengin file has one header,
so the header names the bank itself as the requester (:class:`Sender`: the code and the account it files
under) and every data record one transfer (:class:`Record`). The customer's order is found again from
the record's 顧客コード1, which holds the transfer's reception number (受付番号, ten digits) right-justified
with zeros, as a numeric field is written: a return (組戻し, 不能) then names the transfer that caused it.
The module knows nothing of the database or of Django: the caller turns the day's transfers into records.

The layout is the public one of 全銀協 (120-byte records; header 1, data 2, trailer 8, end 9). Numeric
fields are right-justified with zeros, character fields left-justified with spaces, as the format says.
The fields this bank does not use (手形交換所番号, 顧客コード2, the dummies) are written as spaces; some
banks' guides ask zeros for 手形交換所番号, and :func:`read` does not look at any of them. The tests check
every layout (:data:`HEADER`, :data:`DATA`, :data:`TRAILER`, :data:`END`) to be 120 bytes and the
written bytes field by field.

Characters: コード区分 "0" says JIS, that is JIS X 0201 in 8 bits, one byte a character. For every character
a Zengin name may hold, cp932 writes the same byte as JIS X 0201 but for the yen sign (JIS X 0201's 0x5C,
cp932's backslash): the file is cp932 with ``¥`` written as 0x5C, and 0x5C is read back as ``¥``.
Records are followed by CRLF (122 bytes each, the form of files downloaded for a PC) or, with
``newline=False``, by nothing (the fixed-length form, 120 bytes each).

What cannot be written is refused with ValueError rather than cut: an amount over the field's ten digits,
a day's total over the trailer's twelve, a code of the wrong length (TypeError for an amount that is not
an int). Only names are cut to their field, as banks' own guides do (受取人名: the first 30 characters
count). Messages are in the user's language (Japanese first, English from the catalogue) and name the
transfer (:func:`write`) or the record and the field (:func:`read`; records counted from 1, the header
being the first): the back office reads them, and the customers will when they send their own files
(総合振込・給与振込). The module knows nothing of the database; Django gives it only its translations."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

RECORD_LENGTH = 120
TYPE_CODE = "21"  # 総合振込
CODE_DIVISION = "0"  # JIS
# 振込指定区分: 7 電信扱 (テレ振込), the transfer reaches the payee's account on the day, rather than
# 8 文書扱.
TRANSFER_DESIGNATION = "7"
NEW_CODE = "0"  # 新規コード: 0 その他 (not the first transfer to a payee, nor a changed one)
MAX_AMOUNT = 9_999_999_999  # 振込金額: ten digits
MAX_TOTAL = 999_999_999_999  # 合計金額: twelve digits
MAX_COUNT = 999_999  # 合計件数: six digits

# 預金種目: the requester's (1 普通, 2 当座, 9 その他, as the header's field allows) and the payee's.
SENDER_ACCOUNT_TYPES = frozenset("129")
ACCOUNT_TYPES = frozenset("1249")  # 1 普通, 2 当座, 4 貯蓄, 9 その他

_YEN = "¥"
# The characters a Zengin name may hold (全銀協の振込で使用できる文字): half-width digits, upper-case
# letters, katakana ｱ–ﾝ and ｦ, the voiced and semi-voiced marks, the space and the symbols below.
_KANA = "ｦｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝﾞﾟ"
CHARACTERS = frozenset(string.digits + string.ascii_uppercase + _KANA + " ().-/,｢｣" + _YEN)
# Written the way names are written by convention, not refused: small kana are not in the set and
# become the large ones (ｷｬ is ｷﾔ, as the Zengin kana write them); the long-vowel mark, which not every
# bank's list holds, becomes the hyphen, which every list holds; the backslash is JIS X 0201's yen sign
# under cp932's name.
_CONVENTIONS = str.maketrans("ｧｨｩｪｫｬｭｮｯｰ\\", "ｱｲｳｴｵﾔﾕﾖﾂ-" + _YEN)
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Field:
    """One field of a record: its key (as :func:`read`'s dicts and the dataclasses name it), its name in
    the format (as messages name it) and its width in bytes."""

    key: str
    label: str | Promise
    width: int


HEADER = (
    Field("data_kind", gettext_lazy("データ区分"), 1),  # "1"
    Field("type_code", gettext_lazy("種別コード"), 2),  # "21"
    Field("code_division", gettext_lazy("コード区分"), 1),  # "0" JIS
    Field("requester_code", gettext_lazy("依頼人コード"), 10),
    Field("name_kana", gettext_lazy("依頼人名"), 40),
    Field("transfer_date", gettext_lazy("振込指定日"), 4),  # MMDD (取組日)
    Field("bank_code", gettext_lazy("仕向銀行番号"), 4),
    Field("bank_name_kana", gettext_lazy("仕向銀行名"), 15),
    Field("branch_code", gettext_lazy("仕向支店番号"), 3),
    Field("branch_name_kana", gettext_lazy("仕向支店名"), 15),
    Field("account_type", gettext_lazy("預金種目（依頼人）"), 1),
    Field("account_number", gettext_lazy("口座番号（依頼人）"), 7),
    Field("dummy", gettext_lazy("ダミー"), 17),  # spaces
)
DATA = (
    Field("data_kind", gettext_lazy("データ区分"), 1),  # "2"
    Field("bank_code", gettext_lazy("被仕向銀行番号"), 4),
    Field("bank_name_kana", gettext_lazy("被仕向銀行名"), 15),
    Field("branch_code", gettext_lazy("被仕向支店番号"), 3),
    Field("branch_name_kana", gettext_lazy("被仕向支店名"), 15),
    Field("clearing_house", gettext_lazy("手形交換所番号"), 4),  # unused: spaces
    Field("account_type", gettext_lazy("預金種目"), 1),
    Field("account_number", gettext_lazy("口座番号"), 7),
    Field("holder_kana", gettext_lazy("受取人名"), 30),
    Field("amount", gettext_lazy("振込金額"), 10),
    Field("new_code", gettext_lazy("新規コード"), 1),  # "0"
    Field("customer_code1", gettext_lazy("顧客コード1"), 10),  # the reception number; spaces when none
    Field("customer_code2", gettext_lazy("顧客コード2"), 10),  # unused: spaces
    Field("designation", gettext_lazy("振込指定区分"), 1),  # "7"
    Field("edi_mark", gettext_lazy("識別表示"), 1),  # space: the customer codes, not EDI information ("Y")
    Field("dummy", gettext_lazy("ダミー"), 7),  # spaces
)
TRAILER = (
    Field("data_kind", gettext_lazy("データ区分"), 1),  # "8"
    Field("count", gettext_lazy("合計件数"), 6),
    Field("total", gettext_lazy("合計金額"), 12),
    Field("dummy", gettext_lazy("ダミー"), 101),  # spaces
)
END = (
    Field("data_kind", gettext_lazy("データ区分"), 1),  # "9"
    Field("dummy", gettext_lazy("ダミー"), 119),  # spaces
)


@dataclass(frozen=True)
class Sender:
    """The requester the file is written for, the bank itself: its requester code (依頼人コード, the code
    the agreement with the clearing side gives it, up to ten digits), its name, the sending bank and
    branch (仕向銀行・支店, this bank) and the account the day's transfers are settled from. Names in
    half-width kana (see :func:`zengin_name`); codes in half-width digits."""

    requester_code: str
    name_kana: str
    bank_code: str
    bank_name_kana: str
    branch_code: str
    branch_name_kana: str
    account_type: str  # 1 普通, 2 当座, 9 その他
    account_number: str  # seven digits


@dataclass(frozen=True)
class Record:
    """One transfer to another bank: where it goes (bank, branch, 預金種目, account number, holder's name
    in half-width kana), how much (whole yen, 1 to 9,999,999,999) and customer code 1, the transfer's
    reception number (up to ten digits, written right-justified with zeros; "" for none)."""

    bank_code: str  # four digits
    bank_name_kana: str
    branch_code: str  # three digits
    branch_name_kana: str
    account_type: str  # 1 普通, 2 当座, 4 貯蓄, 9 その他
    account_number: str  # seven digits
    holder_kana: str
    amount: int
    customer_code1: str = ""


_KIND_LABEL = HEADER[0].label  # データ区分


class ZenginFormatError(ValueError):
    """A file :func:`read` cannot accept; the message names the record (1-based) and the field, in the
    user's language."""

    def __init__(self, number: int, problem: str, field: str | Promise | None = None) -> None:
        self.number = number
        self.field = field
        if field is None:
            message = _("%(number)s件目のレコード：%(problem)s。") % {"number": number, "problem": problem}
        else:
            message = _("%(number)s件目のレコード：%(field)sが%(problem)s。") % {
                "number": number,
                "field": field,
                "problem": problem,
            }
        super().__init__(message)


def _shown(character: str) -> str:
    """A character as a message names it: itself and its code point (a control character, which
    cannot be seen, by its code point alone)."""
    code_point = f"U+{ord(character):04X}"
    if not character.isprintable():
        return code_point
    return _("「%(character)s」（%(code_point)s）") % {"character": character, "code_point": code_point}


def _one_of(allowed: frozenset[str]) -> str:
    """The values a field allows, as a message lists them: 1・2・9."""
    return pgettext("between the values a field allows", "・").join(sorted(allowed))


_SMALL_KANA = str.maketrans("ｧｨｩｪｫｬｭｮｯ", "ｱｲｳｴｵﾔﾕﾖﾂ")


def large_kana(value: str) -> str:
    """``value`` with its small kana written large, as bank records hold names (ｷｬｯｼｭ is ｷﾔﾂｼﾕ); the
    long-vowel mark stays as it is."""
    return value.translate(_SMALL_KANA)


def conventional(value: str) -> str:
    """``value`` with small kana written large and the long-vowel mark as a hyphen (the conventions
    above); what is still not in CHARACTERS is the caller's to refuse."""
    return value.translate(_CONVENTIONS)


def zengin_name(value: str, width: int) -> str:
    """``value`` as a name field of ``width`` characters (one byte each): small kana written large and
    the long-vowel mark as a hyphen (the conventions above), then refused with ValueError naming the
    first character the Zengin set lacks (a lower-case or full-width letter, a kanji, ･ and ｡ too: the
    caller normalises what a person typed, core/text.half_width_kana), then cut to ``width`` and padded
    with spaces on the right. Idempotent."""
    written = conventional(value)
    for character in written:
        if character not in CHARACTERS:
            raise ValueError(
                _("全銀の文字でない%(character)sが含まれています。") % {"character": _shown(character)}
            )
    return written[:width].ljust(width)


def _name(value: str, field: Field, where: str, *, required: bool = False) -> str:
    try:
        written = zengin_name(value, field.width)
    except ValueError as refused:
        raise ValueError(
            _("%(where)s：%(field)sに%(problem)s")
            % {"where": where, "field": field.label, "problem": refused}
        ) from None
    if required and not written.strip():
        raise ValueError(_("%(where)s：%(field)sがありません。") % {"where": where, "field": field.label})
    return written


def _code(value: str, field: Field, where: str, *, exact: bool = True, optional: bool = False) -> str:
    """A numeric field: digits 0–9 only, of the field's width (``exact``) or up to it, right-justified
    with zeros; spaces when ``optional`` and empty."""
    if optional and value == "":
        return " " * field.width
    fits = len(value) == field.width if exact else 1 <= len(value) <= field.width
    if _DIGITS.fullmatch(value) is None or not fits:
        message = (
            _("%(where)s：%(field)sは半角数字%(width)s桁で指定してください（「%(value)s」）。")
            if exact
            else _("%(where)s：%(field)sは半角数字%(width)s桁以内で指定してください（「%(value)s」）。")
        )
        raise ValueError(
            message % {"where": where, "field": field.label, "width": field.width, "value": value}
        )
    return value.zfill(field.width)


def _kind(value: str, allowed: frozenset[str], field: Field, where: str) -> str:
    if value not in allowed:
        raise ValueError(
            _("%(where)s：%(field)s「%(value)s」は%(allowed)sのいずれかです。")
            % {"where": where, "field": field.label, "value": value, "allowed": _one_of(allowed)}
        )
    return value


def _pack(layout: tuple[Field, ...], values: dict[str, str]) -> bytes:
    """The record's fields in the layout's order, unused ones as spaces, in JIS X 0201 (see above)."""
    text = "".join(values.get(field.key, " " * field.width) for field in layout)
    return text.replace(_YEN, "\\").encode("cp932")


def _header(sender: Sender, day: date) -> bytes:
    where = _("依頼人")
    fields = {field.key: field for field in HEADER}
    return _pack(
        HEADER,
        {
            "data_kind": "1",
            "type_code": TYPE_CODE,
            "code_division": CODE_DIVISION,
            "requester_code": _code(sender.requester_code, fields["requester_code"], where, exact=False),
            "name_kana": _name(sender.name_kana, fields["name_kana"], where, required=True),
            "transfer_date": f"{day.month:02d}{day.day:02d}",
            "bank_code": _code(sender.bank_code, fields["bank_code"], where),
            "bank_name_kana": _name(sender.bank_name_kana, fields["bank_name_kana"], where),
            "branch_code": _code(sender.branch_code, fields["branch_code"], where),
            "branch_name_kana": _name(sender.branch_name_kana, fields["branch_name_kana"], where),
            "account_type": _kind(sender.account_type, SENDER_ACCOUNT_TYPES, fields["account_type"], where),
            "account_number": _code(sender.account_number, fields["account_number"], where),
        },
    )


def _data(record: Record, index: int) -> bytes:
    where = _("%(index)s件目の振込") % {"index": index}
    fields = {field.key: field for field in DATA}
    amount = record.amount
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(
            _("%(where)s：振込金額は円単位の整数で指定してください（%(amount)s）。")
            % {"where": where, "amount": repr(amount)}
        )
    if amount < 1:
        raise ValueError(
            _("%(where)s：振込金額が1円未満です（%(amount)s円）。")
            % {"where": where, "amount": f"{amount:,}"}
        )
    if amount > MAX_AMOUNT:
        raise ValueError(
            _("%(where)s：振込金額が10桁（%(max)s円）を超えています（%(amount)s円）。")
            % {"where": where, "max": f"{MAX_AMOUNT:,}", "amount": f"{amount:,}"}
        )
    return _pack(
        DATA,
        {
            "data_kind": "2",
            "bank_code": _code(record.bank_code, fields["bank_code"], where),
            "bank_name_kana": _name(record.bank_name_kana, fields["bank_name_kana"], where),
            "branch_code": _code(record.branch_code, fields["branch_code"], where),
            "branch_name_kana": _name(record.branch_name_kana, fields["branch_name_kana"], where),
            "account_type": _kind(record.account_type, ACCOUNT_TYPES, fields["account_type"], where),
            "account_number": _code(record.account_number, fields["account_number"], where),
            "holder_kana": _name(record.holder_kana, fields["holder_kana"], where, required=True),
            "amount": f"{amount:010d}",
            "new_code": NEW_CODE,
            "customer_code1": _code(
                record.customer_code1, fields["customer_code1"], where, exact=False, optional=True
            ),
            "designation": TRANSFER_DESIGNATION,
        },
    )


def write(sender: Sender, records: Sequence[Record], *, day: date, newline: bool = True) -> bytes:
    """The whole file for ``day`` (振込指定日, written MMDD): the header for ``sender``, one data record
    per transfer in the order given, the trailer with their count and total, the end record; each
    record followed by CRLF when ``newline``. ValueError, naming the transfer (1-based) and the field,
    for what the format cannot hold. No transfer at all gives a valid file of count 0."""
    lines = [_header(sender, day)]
    lines.extend(_data(record, index) for index, record in enumerate(records, start=1))
    count = len(records)
    total = sum(record.amount for record in records)
    if count > MAX_COUNT:
        raise ValueError(
            _("振込が%(count)s件あり、1つのファイルの上限（%(max)s件）を超えています。")
            % {"count": f"{count:,}", "max": f"{MAX_COUNT:,}"}
        )
    if total > MAX_TOTAL:
        raise ValueError(
            _("振込金額の合計が12桁（%(max)s円）を超えています（%(total)s円）。1つのファイルに入りません。")
            % {"max": f"{MAX_TOTAL:,}", "total": f"{total:,}"}
        )
    lines.append(_pack(TRAILER, {"data_kind": "8", "count": f"{count:06d}", "total": f"{total:012d}"}))
    lines.append(_pack(END, {"data_kind": "9"}))
    ending = b"\r\n" if newline else b""
    return b"".join(line + ending for line in lines)


# --- Reading -----------------------------------------------------------------------------------------

# The bytes a record may hold: JIS X 0201 in 8 bits (ASCII's printable characters, the kana).
_SINGLE_BYTE = re.compile(rb"[\x20-\x7e\xa1-\xdf]*")


def _records(data: bytes) -> list[bytes]:
    """The file cut into records: on CRLF when it has line ends (the last one optional), else every
    120 bytes. A record of another length is refused naming it (a file cut short: its last record)."""
    if b"\r" in data or b"\n" in data:
        records = data.split(b"\r\n")
        if records[-1] == b"":
            records.pop()
    else:
        records = [data[start : start + RECORD_LENGTH] for start in range(0, len(data), RECORD_LENGTH)]
    if not records:
        raise ZenginFormatError(1, _("ありません（ファイルが空です）"))
    for number, record in enumerate(records, start=1):
        if len(record) != RECORD_LENGTH:
            problem = _("%(length)sバイトです（%(expected)sバイトのはずです）") % {
                "length": len(record),
                "expected": RECORD_LENGTH,
            }
            raise ZenginFormatError(number, problem, _("長さ"))
    return records


def _fields(layout: tuple[Field, ...], record: bytes, number: int) -> dict[str, str]:
    """The record's fields as text, each checked to be JIS X 0201 bytes, 0x5C read as the yen sign."""
    values: dict[str, str] = {}
    start = 0
    for field in layout:
        raw = record[start : start + field.width]
        start += field.width
        if _SINGLE_BYTE.fullmatch(raw) is None:
            bad = next(byte for byte in raw if _SINGLE_BYTE.fullmatch(bytes([byte])) is None)
            problem = _("JIS X 0201の文字でないバイト%(byte)sを含みます") % {"byte": f"0x{bad:02X}"}
            raise ZenginFormatError(number, problem, field.label)
        values[field.key] = raw.decode("cp932").replace("\\", _YEN)
    return values


class _Reader:
    """One record's fields, read with checks that name the record and the field."""

    def __init__(self, layout: tuple[Field, ...], record: bytes, number: int) -> None:
        self.number = number
        self.labels = {field.key: field.label for field in layout}
        self.values = _fields(layout, record, number)

    def refuse(self, key: str, problem: str) -> ZenginFormatError:
        return ZenginFormatError(self.number, problem, self.labels[key])

    def digits(self, key: str, *, blank: bool = False) -> str:
        """A numeric field, digits only; "" for spaces when ``blank`` may be."""
        value = self.values[key]
        if blank and value.strip(" ") == "":
            return ""
        if _DIGITS.fullmatch(value) is None:
            raise self.refuse(key, _("数字ではありません（「%(value)s」）") % {"value": value})
        return value

    def name(self, key: str, *, required: bool = False) -> str:
        """A name field without its padding, in the Zengin set as written (no convention applied)."""
        value = self.values[key].rstrip(" ")
        for character in value:
            if character not in CHARACTERS:
                raise self.refuse(
                    key, _("全銀の文字でない%(character)sを含みます") % {"character": _shown(character)}
                )
        if required and not value:
            raise self.refuse(key, _("空白です"))
        return value

    def one_of(self, key: str, allowed: frozenset[str]) -> str:
        value = self.values[key]
        if value not in allowed:
            raise self.refuse(
                key,
                _("「%(value)s」です（%(allowed)sのいずれかのはずです）")
                % {"value": value, "allowed": _one_of(allowed)},
            )
        return value


_KINDS = {
    "1": gettext_lazy("ヘッダー・レコード"),
    "2": gettext_lazy("データ・レコード"),
    "8": gettext_lazy("トレーラー・レコード"),
    "9": gettext_lazy("エンド・レコード"),
}


def _expect(records: list[bytes], number: int, kinds: str) -> str:
    """The kind (データ区分) of record ``number``, refused unless one of ``kinds``; "" past the end."""
    expected = pgettext("between two kinds of record", "か").join(
        _("%(kind)s「%(code)s」") % {"kind": _KINDS[kind], "code": kind} for kind in kinds
    )
    if number > len(records):
        raise ZenginFormatError(number, _("ありません（%(expected)sのはずです）") % {"expected": expected})
    byte = records[number - 1][0]
    kind = chr(byte) if 0x20 <= byte <= 0x7E else f"0x{byte:02X}"
    if kind not in kinds:
        problem = _("「%(kind)s」です（%(expected)sのはずです）") % {"kind": kind, "expected": expected}
        raise ZenginFormatError(number, problem, _KIND_LABEL)
    return kind


def _read_header(record: bytes) -> dict[str, str]:
    reader = _Reader(HEADER, record, 1)
    type_code, code_division = reader.values["type_code"], reader.values["code_division"]
    if type_code != TYPE_CODE:
        problem = _("「%(value)s」です（総合振込「%(expected)s」のはずです）")
        raise reader.refuse("type_code", problem % {"value": type_code, "expected": TYPE_CODE})
    if code_division != CODE_DIVISION:
        problem = _("「%(value)s」です（JIS「%(expected)s」のはずです）")
        raise reader.refuse("code_division", problem % {"value": code_division, "expected": CODE_DIVISION})
    transfer_date = reader.digits("transfer_date")
    try:
        date(2000, int(transfer_date[:2]), int(transfer_date[2:]))  # a leap year: 0229 is a day
    except ValueError:
        problem = _("月日（MMDD）ではありません（「%(value)s」）") % {"value": transfer_date}
        raise reader.refuse("transfer_date", problem) from None
    return {
        "type_code": TYPE_CODE,
        "code_division": CODE_DIVISION,
        "transfer_date": transfer_date,
        "requester_code": reader.digits("requester_code"),
        "name_kana": reader.name("name_kana", required=True),
        "bank_code": reader.digits("bank_code"),
        "bank_name_kana": reader.name("bank_name_kana"),
        "branch_code": reader.digits("branch_code"),
        "branch_name_kana": reader.name("branch_name_kana"),
        "account_type": reader.one_of("account_type", SENDER_ACCOUNT_TYPES),
        "account_number": reader.digits("account_number"),
    }


def _read_data(record: bytes, number: int) -> Record:
    reader = _Reader(DATA, record, number)
    if reader.values["edi_mark"] != " ":
        problem = _("「%(value)s」です（EDI情報の形式は読めません）") % {"value": reader.values["edi_mark"]}
        raise reader.refuse("edi_mark", problem)
    amount = int(reader.digits("amount"))
    if amount < 1:
        raise reader.refuse("amount", _("0円です"))
    return Record(
        bank_code=reader.digits("bank_code"),
        bank_name_kana=reader.name("bank_name_kana"),
        branch_code=reader.digits("branch_code"),
        branch_name_kana=reader.name("branch_name_kana"),
        account_type=reader.one_of("account_type", ACCOUNT_TYPES),
        account_number=reader.digits("account_number"),
        holder_kana=reader.name("holder_kana", required=True),
        amount=amount,
        customer_code1=reader.digits("customer_code1", blank=True),
    )


def read(data: bytes) -> tuple[dict[str, str], list[Record], dict[str, int]]:
    """The file back: the header's fields (keyed as :class:`Sender` names them, and ``type_code``,
    ``code_division``, ``transfer_date`` as MMDD; codes as written, zero-padded), the data records
    (names without their padding, customer code 1 as its ten digits or "" when blank), and the
    trailer's ``count`` and ``total``. Refused with :class:`ZenginFormatError` naming the record and
    the field: a record not 120 bytes, records out of order (one header, data, one trailer, one end,
    nothing after), a field that is not what the format says, a trailer disagreeing with the data."""
    records = _records(data)
    _expect(records, 1, "1")
    header = _read_header(records[0])
    transfers: list[Record] = []
    number = 2
    while _expect(records, number, "28") == "2":
        transfers.append(_read_data(records[number - 1], number))
        number += 1
    trailer = _Reader(TRAILER, records[number - 1], number)
    count, total = int(trailer.digits("count")), int(trailer.digits("total"))
    if count != len(transfers):
        problem = _("%(count)s件ですが、データ・レコードは%(records)s件です") % {
            "count": f"{count:,}",
            "records": f"{len(transfers):,}",
        }
        raise trailer.refuse("count", problem)
    actual = sum(transfer.amount for transfer in transfers)
    if total != actual:
        problem = _("%(total)s円ですが、データ・レコードの振込金額の合計は%(actual)s円です") % {
            "total": f"{total:,}",
            "actual": f"{actual:,}",
        }
        raise trailer.refuse("total", problem)
    _expect(records, number + 1, "9")
    _fields(END, records[number], number + 1)
    if len(records) > number + 1:
        raise ZenginFormatError(number + 2, _("エンド・レコードの後にあります"))
    return header, transfers, {"count": count, "total": total}
