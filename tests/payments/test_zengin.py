"""The Zengin general-transfer file (payments/zengin.py): 120-byte records laid out as 全銀協 says, byte
by byte; names in the Zengin character set (small kana written large, anything else refused naming the
character); what a field cannot hold refused rather than cut; and read() giving back what write() wrote,
refusing a damaged file with a message naming the record and the field, in Japanese or English."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from corpbank.payments import zengin

DAY = date(2026, 4, 1)
SENDER = zengin.Sender(
    requester_code="123",
    name_kana="ｺｰﾌﾟｷﾝｺ",
    bank_code="9999",
    bank_name_kana="ｺｰﾌﾟｷﾝｺ",
    branch_code="001",
    branch_name_kana="ﾎﾝﾃﾝ",
    account_type="1",
    account_number="1234567",
)


def transfer(**changes):
    values = {
        "bank_code": "0001",
        "bank_name_kana": "ﾐｽﾞﾎ",
        "branch_code": "100",
        "branch_name_kana": "ﾄｳｷﾖｳ",
        "account_type": "1",
        "account_number": "7654321",
        "holder_kana": "ﾔﾏﾀﾞｼﾖｳｼﾞ(ｶ",
        "amount": 12_345,
        "customer_code1": "0000000042",
    }
    return zengin.Record(**(values | changes))


def records_of(data: bytes) -> list[bytes]:
    """A file written with newline=False, cut every 120 bytes."""
    return [data[start : start + 120] for start in range(0, len(data), 120)]


def damaged(data: bytes, number: int, start: int, replacement: bytes) -> bytes:
    """``data`` (newline=False) with record ``number`` (1-based) overwritten from byte ``start``."""
    at = (number - 1) * 120 + start
    return data[:at] + replacement + data[at + len(replacement) :]


def refusal(data: bytes) -> str:
    with pytest.raises(zengin.ZenginFormatError) as refused:
        zengin.read(data)
    return str(refused.value)


# --- The layout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", [zengin.HEADER, zengin.DATA, zengin.TRAILER, zengin.END])
def test_every_layout_is_120_bytes_of_distinct_fields(layout):
    assert sum(field.width for field in layout) == 120
    assert len({field.key for field in layout}) == len(layout)


def test_the_data_records_offsets_are_the_published_ones():
    # 1-based columns of the 全銀協 table: 振込金額 81–90, 顧客コード1 92–101, 識別表示 113.
    offsets, start = {}, 0
    for field in zengin.DATA:
        offsets[field.label] = (start, start + field.width)
        start += field.width
    assert offsets["被仕向銀行番号"] == (1, 5)
    assert offsets["受取人名"] == (50, 80)
    assert offsets["振込金額"] == (80, 90)
    assert offsets["顧客コード1"] == (91, 101)
    assert offsets["振込指定区分"] == (111, 112)
    assert offsets["識別表示"] == (112, 113)


def test_a_known_file_byte_by_byte():
    data = zengin.write(SENDER, [transfer(), transfer(amount=9_999_999_999, customer_code1="")], day=DAY)
    lines = data.split(b"\r\n")
    assert lines[-1] == b"" and [len(line) for line in lines[:-1]] == [120] * 5
    header, first, second, trailer, end = lines[:-1]

    assert header[0:1] == b"1" and header[1:3] == b"21" and header[3:4] == b"0"
    assert header[4:14] == b"0000000123"  # 依頼人コード, zero-padded
    assert header[14:54] == "ｺ-ﾌﾟｷﾝｺ".encode("cp932").ljust(40)  # the long vowel as a hyphen
    assert header[54:58] == b"0401"  # 振込指定日 MMDD
    assert header[58:62] == b"9999" and header[77:80] == b"001"
    assert header[80:95] == "ﾎﾝﾃﾝ".encode("cp932").ljust(15)
    assert header[95:96] == b"1" and header[96:103] == b"1234567" and header[103:120] == b" " * 17

    assert first[0:1] == b"2" and first[1:5] == b"0001" and first[20:23] == b"100"
    assert first[5:20] == b"\xd0\xbd\xde\xce" + b" " * 11  # ﾐｽﾞﾎ, one byte a character
    assert first[38:42] == b"    "  # 手形交換所番号, unused
    assert first[42:43] == b"1" and first[43:50] == b"7654321"
    assert first[50:80] == "ﾔﾏﾀﾞｼﾖｳｼﾞ(ｶ".encode("cp932").ljust(30)
    assert first[80:90] == b"0000012345"  # 振込金額
    assert first[90:91] == b"0"  # 新規コード
    assert first[91:101] == b"0000000042"  # 顧客コード1: the reception number
    assert first[101:111] == b" " * 10  # 顧客コード2, unused
    assert first[111:112] == b"7" and first[112:113] == b" " and first[113:120] == b" " * 7
    assert second[80:90] == b"9999999999" and second[91:101] == b" " * 10

    assert trailer == b"8" + b"000002" + b"010000012344" + b" " * 101  # 12,345 + 9,999,999,999
    assert end == b"9" + b" " * 119


def test_without_newlines_the_file_is_120_bytes_a_record():
    data = zengin.write(SENDER, [transfer(), transfer(), transfer()], day=DAY, newline=False)
    assert len(data) == 120 * 6
    assert b"\r" not in data and b"\n" not in data
    assert [record[:1] for record in records_of(data)] == [b"1", b"2", b"2", b"2", b"8", b"9"]


def test_with_newlines_every_record_ends_with_crlf():
    data = zengin.write(SENDER, [transfer()], day=DAY)
    assert len(data) == 122 * 4
    assert all(data[at + 120 : at + 122] == b"\r\n" for at in range(0, len(data), 122))


def test_the_trailer_counts_and_totals_the_transfers():
    amounts = [1, 30_000, 9_999_999_999]
    data = zengin.write(SENDER, [transfer(amount=amount) for amount in amounts], day=DAY, newline=False)
    trailer = records_of(data)[4]
    assert trailer[1:7] == b"000003"
    assert trailer[7:19] == b"%012d" % sum(amounts)
    assert zengin.read(data)[2] == {"count": 3, "total": 10_000_030_000}


def test_a_day_without_transfers_is_a_file_of_count_zero():
    data = zengin.write(SENDER, [], day=DAY)
    _, records, trailer = zengin.read(data)
    assert records == [] and trailer == {"count": 0, "total": 0}
    assert len(data) == 122 * 3


# --- Names ------------------------------------------------------------------------------------------


def test_small_kana_are_written_large():
    assert zengin.zengin_name("ｧｨｩｪｫｬｭｮｯ", 9) == "ｱｲｳｴｵﾔﾕﾖﾂ"
    assert zengin.zengin_name("ｷｬｯｼｭ ｶｰﾄﾞ", 15) == "ｷﾔﾂｼﾕ ｶ-ﾄﾞ     "
    data = zengin.write(SENDER, [transfer(holder_kana="ｼｮｳｼﾞ ｯｸ")], day=DAY)
    assert zengin.read(data)[1][0].holder_kana == "ｼﾖｳｼﾞ ﾂｸ"


def test_a_name_is_padded_and_cut_to_its_field():
    assert zengin.zengin_name("ﾀﾛｳ", 5) == "ﾀﾛｳ  "
    assert zengin.zengin_name("ABCDEFG", 5) == "ABCDE"
    assert zengin.zengin_name("", 3) == "   "


def test_the_symbols_of_the_set_are_kept_and_the_yen_sign_is_byte_5c():
    name = "(ｶ)ABC-1.2/3,｢ｦ｣¥"
    assert zengin.zengin_name(name, 20) == name.ljust(20)
    assert zengin.zengin_name("A\\B", 3) == "A¥B"  # JIS X 0201's 0x5C by its ASCII name
    data = zengin.write(SENDER, [transfer(holder_kana=name)], day=DAY, newline=False)
    assert records_of(data)[1][50:80] == ("(ｶ)ABC-1.2/3,｢ｦ｣".encode("cp932") + b"\x5c").ljust(30)
    assert zengin.read(data)[1][0].holder_kana == name


@pytest.mark.parametrize(
    ("name", "named"),
    [
        ("ﾔﾏﾀﾞ 太郎", "「太」（U+592A）"),
        ("yamada", "「y」（U+0079）"),  # lower case: the caller upper-cases what a person typed
        ("ヤマダ", "「ヤ」（U+30E4）"),  # full-width katakana
        ("ﾔﾏﾀﾞ･ﾀﾛｳ", "「･」（U+FF65）"),  # the middle dot is not in the set
        ("ﾔﾏﾀﾞ\x00", "U+0000"),
        ("ＡＢＣ", "「Ａ」（U+FF21）"),
    ],
)
def test_a_character_outside_the_set_is_refused_naming_it(name, named):
    with pytest.raises(ValueError, match=re.escape(f"全銀の文字でない{named}が含まれています。")):
        zengin.zengin_name(name, 30)
    with pytest.raises(ValueError, match=re.escape(f"2件目の振込：受取人名に全銀の文字でない{named}")):
        zengin.write(SENDER, [transfer(), transfer(holder_kana=name)], day=DAY)


@given(st.text(st.sampled_from(sorted(zengin.CHARACTERS | set("ｧｨｩｪｫｬｭｮｯｰ\\あア漢a\x00･"))), max_size=40))
def test_a_name_is_in_the_set_and_of_its_width_or_refused(value):
    try:
        written = zengin.zengin_name(value, 15)
    except ValueError:
        assert any(character in "あア漢a\x00･" for character in value)
    else:
        assert len(written) == 15 and set(written) <= zengin.CHARACTERS
        assert zengin.zengin_name(written, 15) == written
        assert len(written.replace("¥", "\\").encode("cp932")) == 15


def test_a_payee_without_a_name_is_refused():
    with pytest.raises(ValueError, match="^" + re.escape("1件目の振込：受取人名がありません。") + "$"):
        zengin.write(SENDER, [transfer(holder_kana="  ")], day=DAY)


# --- What a field cannot hold -----------------------------------------------------------------------


def test_an_amount_of_eleven_digits_is_refused_not_cut():
    with pytest.raises(ValueError, match="^" + re.escape("1件目の振込：振込金額が10桁")):
        zengin.write(SENDER, [transfer(amount=10_000_000_000)], day=DAY)
    assert zengin.read(zengin.write(SENDER, [transfer(amount=9_999_999_999)], day=DAY))[1][0].amount == (
        9_999_999_999
    )


@pytest.mark.parametrize(
    ("amount", "error"), [(0, ValueError), (-1, ValueError), (True, TypeError), (1.5, TypeError)]
)
def test_an_amount_must_be_whole_positive_yen(amount, error):
    with pytest.raises(error, match="^" + re.escape("1件目の振込：振込金額")):
        zengin.write(SENDER, [transfer(amount=amount)], day=DAY)


def test_a_total_over_twelve_digits_is_refused():
    at_most = [transfer(amount=9_999_999_999)] * 100
    assert zengin.read(zengin.write(SENDER, at_most, day=DAY))[2]["total"] == 999_999_999_900
    with pytest.raises(ValueError, match="合計が12桁"):
        zengin.write(SENDER, [*at_most, transfer(amount=9_999_999_999)], day=DAY)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bank_code": "01"}, "被仕向銀行番号"),
        ({"bank_code": "１２３４"}, "被仕向銀行番号"),  # full-width digits: the caller's to normalise
        ({"branch_code": "1000"}, "被仕向支店番号"),
        ({"account_number": "123456"}, "口座番号"),
        ({"account_number": "12345678"}, "口座番号"),
        ({"account_type": "3"}, "預金種目"),
        ({"customer_code1": "12345678901"}, "顧客コード1"),
        ({"customer_code1": "R-1"}, "顧客コード1"),
    ],
)
def test_a_code_of_the_wrong_shape_is_refused_naming_the_field(changes, field):
    with pytest.raises(ValueError, match="^" + re.escape(f"1件目の振込：{field}")):
        zengin.write(SENDER, [transfer(**changes)], day=DAY)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"requester_code": "12345678901"}, "依頼人コード"),
        ({"requester_code": ""}, "依頼人コード"),
        ({"account_type": "4"}, "預金種目（依頼人）"),  # the header's field knows 1, 2 and 9
        ({"name_kana": ""}, "依頼人名"),
        ({"branch_code": "01"}, "仕向支店番号"),
    ],
)
def test_a_sender_the_header_cannot_hold_is_refused(changes, field):
    sender = zengin.Sender(**(vars(SENDER) | changes))
    with pytest.raises(ValueError, match="^" + re.escape(f"依頼人：{field}")):
        zengin.write(sender, [transfer()], day=DAY)


# --- Reading back -----------------------------------------------------------------------------------

CANONICAL = sorted(zengin.CHARACTERS)


def names(width, *, required=False):
    """Names as read() gives them back: in the set, at most ``width``, without trailing spaces."""
    strategy = st.text(st.sampled_from(CANONICAL), max_size=width).map(lambda name: name.rstrip(" "))
    return strategy.filter(bool) if required else strategy


def digits(size):
    return st.text(st.sampled_from("0123456789"), min_size=size, max_size=size)


RECORDS = st.builds(
    zengin.Record,
    bank_code=digits(4),
    bank_name_kana=names(15),
    branch_code=digits(3),
    branch_name_kana=names(15),
    account_type=st.sampled_from("1249"),
    account_number=digits(7),
    holder_kana=names(30, required=True),
    amount=st.integers(1, zengin.MAX_AMOUNT),
    customer_code1=st.one_of(st.just(""), digits(10)),
)
SENDERS = st.builds(
    zengin.Sender,
    requester_code=digits(10),
    name_kana=names(40, required=True),
    bank_code=digits(4),
    bank_name_kana=names(15),
    branch_code=digits(3),
    branch_name_kana=names(15),
    account_type=st.sampled_from("129"),
    account_number=digits(7),
)


@given(SENDERS, st.lists(RECORDS, max_size=5), st.dates(), st.booleans())
def test_read_gives_back_what_write_wrote(sender, records, day, newline):
    data = zengin.write(sender, records, day=day, newline=newline)
    assert len(data) == (122 if newline else 120) * (len(records) + 3)
    header, read, trailer = zengin.read(data)
    assert zengin.Sender(**{key: header[key] for key in vars(sender)}) == sender
    assert header["transfer_date"] == day.strftime("%m%d") and header["type_code"] == "21"
    assert read == list(records)
    assert trailer == {"count": len(records), "total": sum(record.amount for record in records)}


def test_codes_come_back_as_written_zero_padded():
    data = zengin.write(SENDER, [transfer(customer_code1="42")], day=DAY)
    header, (record,), _ = zengin.read(data)
    assert header["requester_code"] == "0000000123" and record.customer_code1 == "0000000042"


def test_the_last_line_end_is_optional():
    data = zengin.write(SENDER, [transfer()], day=DAY)
    assert zengin.read(data.removesuffix(b"\r\n")) == zengin.read(data)


def test_a_truncated_record_is_refused_naming_it():
    data = zengin.write(SENDER, [transfer(), transfer()], day=DAY)
    lines = data.split(b"\r\n")
    lines[2] = lines[2][:-1]
    assert refusal(b"\r\n".join(lines)) == "3件目のレコード：長さが119バイトです（120バイトのはずです）。"
    fixed = zengin.write(SENDER, [transfer()], day=DAY, newline=False)
    assert refusal(fixed[:-5]) == "4件目のレコード：長さが115バイトです（120バイトのはずです）。"


def test_a_wrong_trailer_total_is_refused_in_japanese():
    data = zengin.write(SENDER, [transfer(amount=1_000), transfer(amount=2_000)], day=DAY, newline=False)
    assert refusal(damaged(data, 4, 7, b"000000003001")) == (
        "4件目のレコード：合計金額が3,001円ですが、データ・レコードの振込金額の合計は3,000円です。"
    )
    assert refusal(damaged(data, 4, 1, b"000003")) == (
        "4件目のレコード：合計件数が3件ですが、データ・レコードは2件です。"
    )


def test_an_amount_that_is_not_digits_is_refused_naming_record_and_field():
    data = zengin.write(SENDER, [transfer(), transfer()], day=DAY, newline=False)
    message = refusal(damaged(data, 3, 80, b"00000A2345"))
    assert message.startswith("3件目のレコード：振込金額が数字ではありません")
    assert refusal(damaged(data, 2, 80, b"0000000000")) == "2件目のレコード：振込金額が0円です。"


DATA_OR_TRAILER = "（データ・レコード「2」かトレーラー・レコード「8」のはずです）"


@pytest.mark.parametrize(
    ("number", "start", "replacement", "message"),
    [
        (1, 0, b"2", "1件目のレコード：データ区分が「2」です（ヘッダー・レコード「1」のはずです）。"),
        (1, 1, b"11", "1件目のレコード：種別コードが「11」です（総合振込「21」のはずです）。"),
        (1, 3, b"1", "1件目のレコード：コード区分が「1」です（JIS「0」のはずです）。"),
        (1, 54, b"0230", "1件目のレコード：振込指定日が月日（MMDD）ではありません（「0230」）。"),
        (2, 0, b"9", f"2件目のレコード：データ区分が「9」です{DATA_OR_TRAILER}。"),
        (3, 0, b"1", f"3件目のレコード：データ区分が「1」です{DATA_OR_TRAILER}。"),
        (4, 0, b"2", "4件目のレコード：データ区分が「2」です（エンド・レコード「9」のはずです）。"),
        (2, 112, b"Y", "2件目のレコード：識別表示が「Y」です（EDI情報の形式は読めません）。"),
        (2, 42, b"3", "2件目のレコード：預金種目が「3」です（1・2・4・9のいずれかのはずです）。"),
        (2, 50, b"\x82\xa0", "2件目のレコード：受取人名がJIS X 0201の文字でないバイト0x82を含みます。"),
        (
            2,
            50,
            "ｧ".encode("cp932"),
            "2件目のレコード：受取人名が全銀の文字でない「ｧ」（U+FF67）を含みます。",
        ),
        (2, 50, b" " * 30, "2件目のレコード：受取人名が空白です。"),
    ],
)
def test_a_damaged_record_is_refused_naming_record_and_field(number, start, replacement, message):
    data = zengin.write(SENDER, [transfer()], day=DAY, newline=False)
    assert refusal(damaged(data, number, start, replacement)) == message


def test_records_missing_or_after_the_end_are_refused():
    data = zengin.write(SENDER, [transfer()], day=DAY, newline=False)
    assert refusal(data[:-120]) == "4件目のレコード：ありません（エンド・レコード「9」のはずです）。"
    assert refusal(data + data[-120:]) == "5件目のレコード：エンド・レコードの後にあります。"
    assert refusal(b"") == "1件目のレコード：ありません（ファイルが空です）。"


def test_the_error_is_a_value_error_that_knows_record_and_field():
    data = zengin.write(SENDER, [transfer()], day=DAY, newline=False)
    with pytest.raises(ValueError) as refused:
        zengin.read(damaged(data, 2, 80, b"x"))
    assert isinstance(refused.value, zengin.ZenginFormatError)
    assert (refused.value.number, refused.value.field) == (2, "振込金額")


# --- In English -------------------------------------------------------------------------------------


def test_messages_are_in_the_users_language():
    """The back office, and the customers once they send their own files, read these messages in English
    too: the whole sentence, the field and the record's kind translated, the values as they are."""
    data = zengin.write(SENDER, [transfer(), transfer()], day=DAY, newline=False)
    with translation.override("en"):
        with pytest.raises(ValueError) as written:
            zengin.write(SENDER, [transfer(), transfer(holder_kana="ﾔﾏﾀﾞ 太郎")], day=DAY)
        cases = {
            damaged(data, 2, 43, b"12x4567"): "Record 2: Account number is not a number (“12x4567”).",
            data[:-120]: "Record 5 is missing (it should be an end record (“9”)).",
            damaged(data, 4, 1, b"000003"): "Record 4: Total count is 3, but there are 2 data records.",
            damaged(data, 1, 0, b"2"): "Record 1: Data kind is “2” (it should be a header record (“1”)).",
        }
        refusals = {damaged_file: refusal(damaged_file) for damaged_file in cases}
    assert str(written.value) == (
        "Transfer 2, Payee name: It contains “太” (U+592A), which is not a Zengin character."
    )
    assert refusals == cases
