"""Typed text (core/text.py): full-width input is the half-width value, what still does not fit is
refused naming the field, and the characters no input may hold are found (issue 12, R-B1, R-E7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpbank.core import text
from corpbank.core.errors import ValidationFailed

# Any str, lone surrogates (category Cs) and NUL included: hypothesis leaves surrogates out by default.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()))
# What a person may type: full-width and half-width forms, the ideographic space, kana, controls.
TYPED = st.text(
    st.one_of(
        st.sampled_from("０１２３４５６７８９ＡＢＣａｂｃ－＿　 \t\x00\ud800ｱｲｳアイウ漢字²٣"),
        st.characters(codec="ascii"),
    )
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("１２３４５６", "123456"),
        ("　ｍａｓｔｅｒ０１　", "master01"),  # the ideographic space around it
        (" HW00000001\n", "HW00000001"),
        ("ｈｗ－０００１", "hw-0001"),
        ("ｱｲｳ", "ｱｲｳ"),  # half-width katakana are no full-width form: left as they are
        ("１，０００円", "1,000円"),
        ("￥１０", "¥10"),
        # Compatibility characters NFKC would fold into digits: nobody types a number so (D8).
        ("①②③", "①②③"),
        ("2⁰⁰⁰", "2⁰⁰⁰"),
        ("", ""),
    ],
)
def test_half_width_is_nfkc_of_the_full_width_forms_without_surrounding_blanks(typed, expected):
    assert text.half_width(typed) == expected


@given(ANY_TEXT)
def test_half_width_never_fails_and_is_idempotent(value):
    once = text.half_width(value)
    assert text.half_width(once) == once


@given(TYPED)
def test_a_login_id_is_half_width_or_refused_naming_the_field(value):
    try:
        typed = text.login_id(value)
    except ValidationFailed as refused:
        assert set(refused.fields) == {"login_id"}
        assert not text.is_half_width(text.half_width(value))
    else:
        assert text.is_half_width(typed) and typed == text.half_width(value)


@given(TYPED)
def test_a_one_time_password_is_ascii_digits_or_refused(value):
    try:
        typed = text.one_time_password(value)
    except ValidationFailed as refused:
        assert set(refused.fields) == {"otp"}
    else:
        assert typed == "" or (typed.isascii() and typed.isdigit())


@pytest.mark.parametrize("typed", ["⑩⑩", "①", "②⁰⁰⁰", "１⁰", "١٠٠٠", "1٠"])
def test_circled_superscript_and_other_scripts_digits_are_no_amount(typed):
    """An amount is typed in ASCII or full-width digits; ⑩⑩ was 1,010 yen through NFKC."""
    with pytest.raises(ValidationFailed) as refused:
        text.amount(typed, field="amount", label="金額")
    assert set(refused.value.fields) == {"amount"}
    with pytest.raises(ValidationFailed):
        text.digits(typed, field="pin", label="暗証番号")


def test_issue_12_full_width_codes_are_the_half_width_ones():
    assert text.one_time_password("１２３４５６") == "123456"
    assert text.serial("ｈｗ０００００００１") == "HW00000001"
    assert text.login_id("ｍａｓｔｅｒ０１") == "master01"
    assert text.digits("　１２３４", field="pin", label="暗証番号") == "1234"


@pytest.mark.parametrize("typed", ["マスター01", "master 01", "master　01", "主人01"])
def test_issue_12_a_login_id_that_still_does_not_fit_is_told_in_half_width_terms(typed):
    with pytest.raises(ValidationFailed) as refused:
        text.login_id(typed)
    assert refused.value.fields == {
        "login_id": "ログインIDは半角英数字記号で入力してください（全角文字・空白は使えません）。"
    }


@pytest.mark.parametrize("typed", ["12345a", "٣٣٣٣٣٣", "᧚᧚᧚᧚᧚᧚", "123 456"])
def test_digits_are_0_to_9_only(typed):
    # str.isdigit takes other scripts' digits (and int() then fails on some): they are no code.
    with pytest.raises(ValidationFailed) as refused:
        text.one_time_password(typed)
    assert refused.value.fields == {"otp": "ワンタイムパスワードは半角数字で入力してください。"}


def test_superscript_digits_are_no_digits():
    """NFKC would make ²³ the code 23; only the full-width forms are folded (API probe D8)."""
    assert not text.is_digits("²")
    with pytest.raises(ValidationFailed) as refused:
        text.one_time_password("²³")
    assert refused.value.fields == {"otp": "ワンタイムパスワードは半角数字で入力してください。"}


def test_a_code_names_its_field_and_label():
    with pytest.raises(ValidationFailed) as refused:
        text.code("ＡＢ 12", field="service_id", label="サービスID")
    assert refused.value.fields == {
        "service_id": "サービスIDは半角英数字で入力してください（空白は入れられません）。"
    }


@pytest.mark.parametrize("value", ["\x00", "ab\x00", "\x1b[0m", "\x7f\x01", "\ud800abc1", "x\udfff"])
def test_unreadable_characters_are_found(value):
    assert text.unreadable(value) is not None
    assert text.unreadable(text.shown(value)) is None


@pytest.mark.parametrize("value", ["", "tab\tand\r\nnew lines", "全角　ＡＢＣ", "\x7f", "\ufffd", "😀"])
def test_what_people_type_is_readable(value):
    assert text.unreadable(value) is None
    assert text.shown(value) == value


@given(ANY_TEXT)
def test_shown_writes_every_unreadable_character_as_an_escape(value):
    shown = text.shown(value)
    assert text.unreadable(shown) is None
    shown.encode("utf-8")  # writable anywhere
    if text.unreadable(value) is None:
        assert shown == value


def test_invalid_characters_is_a_validation_error_of_its_own_code():
    error = text.InvalidCharacters(["login_id", "path"])
    assert (error.code, error.http_status) == ("invalid_characters", 422)
    assert error.fields == {
        "login_id": "使用できない文字が含まれています。",
        "path": "使用できない文字が含まれています。",
    }


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("ぶらうざ　ろうくみ（カ）", "ﾌﾞﾗｳｻﾞ ﾛｳｸﾐ(ｶ)"),  # hiragana, an ideographic space, full-width brackets
        ("コープロウドウクミアイ", "ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ"),
        ("ｺｰﾌﾟ ﾛｳｷﾝ", "ｺｰﾌﾟ ﾛｳｷﾝ"),  # already as the bank keeps it
        ("ａｂｃ１２３ろうきん", "ABC123ﾛｳｷﾝ"),
    ],
)
def test_a_kana_name_is_kept_in_half_width_kana_as_zengin_wants(typed, kept):
    assert text.half_width_kana(typed) == kept
    assert text.half_width_kana(kept) == kept


def test_a_serial_longer_than_any_in_stock_is_refused_without_repeating_it():
    with pytest.raises(ValidationFailed) as refused:
        text.serial("A" * 10_000)
    assert refused.value.fields == {"serial": "シリアル番号は40文字以内で入力してください。"}
    assert text.serial("ｈｗ" + "0" * 38) == "HW" + "0" * 38


@pytest.mark.parametrize("name", ["テスト\u200b労働組合", "\u202eABC", "組合\ufeff"])
def test_a_name_with_an_invisible_format_character_is_refused(name):
    """issue 14's API probe: an organization named with a zero-width space was accepted."""
    problem = text.name_problem(name, label="団体名", max_length=120)
    assert problem == "団体名に見えない文字（ゼロ幅スペースなど）が含まれています。入力し直してください。"
    assert text.name_problem("テスト 労働組合", label="団体名", max_length=120) is None


def test_an_empty_name_is_told_as_empty_not_as_too_long():
    assert text.name_problem("　", label="氏名", max_length=60) == "氏名を入力してください。"


def test_a_name_searched_in_half_width_kana_is_the_full_width_name():
    """The review of stop 22: the audit search by actor took ﾔﾏﾀﾞ as typed since half_width folds
    only the full-width forms; a search for names folds the whole of NFKC."""
    assert text.search_text(" ﾔﾏﾀﾞ ") == "ヤマダ"
