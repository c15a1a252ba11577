"""Character rules for login IDs and passwords (R-B1, R-B2, R-B3), with hypothesis."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corpbank.core.errors import InvalidCredentials, ValidationFailed
from corpbank.identity.credentials import (
    character_rule_problem,
    check_new_credentials,
    generate_initial_password,
)
from tests.conftest import MASTER_LOGIN_ID, MASTER_PASSWORD, log_in

HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F))
valid = st.text(alphabet=HALF_WIDTH, min_size=6, max_size=12).filter(
    lambda s: any(c.isascii() and c.isalpha() for c in s) and any(c.isdigit() for c in s)
)


@given(valid)
def test_r_b1_any_mix_of_letters_digits_and_symbols_of_6_to_12_is_accepted(value):
    assert character_rule_problem(value) is None


@given(st.text(alphabet=HALF_WIDTH, max_size=5) | st.text(alphabet=HALF_WIDTH, min_size=13, max_size=30))
def test_r_b1_length_outside_6_to_12_is_refused(value):
    assert character_rule_problem(value) is not None


@given(st.text(alphabet=string.ascii_letters + "!#$%", min_size=6, max_size=12))
def test_r_b1_without_a_digit_is_refused(value):
    assert character_rule_problem(value) is not None


@given(st.text(alphabet=string.digits + "!#$%", min_size=6, max_size=12))
def test_r_b1_without_a_letter_is_refused(value):
    assert character_rule_problem(value) is not None


@pytest.mark.parametrize("value", ["ａｂｃ１２３", "abc 123", "パス1234ab", "abc123\t"])
def test_r_b1_full_width_and_spaces_are_refused(value):
    assert character_rule_problem(value) is not None


def test_r_b1_case_is_significant_and_kept(master):
    """A password that differs only in case is another password: it does not log in, and counts."""
    assert character_rule_problem("AbCd12") is None
    for other_case in (MASTER_PASSWORD.swapcase(), MASTER_PASSWORD.lower(), MASTER_PASSWORD.upper()):
        with pytest.raises(InvalidCredentials):
            log_in(login_id=MASTER_LOGIN_ID, password=other_case)
    assert log_in(login_id=MASTER_LOGIN_ID, password=MASTER_PASSWORD).user == master


def test_r_b2_login_password_differs_from_login_id(db):
    with pytest.raises(ValidationFailed) as error:
        check_new_credentials(login_id="user1234", login_password="user1234")
    assert "login_password" in error.value.fields


def test_r_b3_confirmation_password_differs_from_login_password(db):
    with pytest.raises(ValidationFailed) as error:
        check_new_credentials(
            login_id="user1234", login_password="pass1234", confirmation_password="pass1234"
        )
    assert "confirmation_password" in error.value.fields


def test_r_b7_initial_passwords_satisfy_the_rules_and_differ():
    passwords = {generate_initial_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(character_rule_problem(p) is None for p in passwords)
