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
        ("ｱｲｳ", "アイウ"),  # NFKC: half-width katakana become full-width (not used for kana names)
        ("", ""),
    ],
)
def test_half_width_is_nfkc_without_surrounding_blanks(typed, expected):
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


def test_superscript_digits_are_digits_after_nfkc():
    assert not text.is_digits("²") and text.one_time_password("²³") == "23"


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
