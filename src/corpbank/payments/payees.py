"""振込先口座の登録・変更・削除 (R-G4): the contract's registered payees.

Who may: a user with the payee-management permission (振込先管理; the master always). With what: the
confirmation password and the one-time password (when the contract uses OTP), as the operation table
says (Operation.PAYEE_REGISTRATION), for registering, changing and deleting alike; each checked through
the lockout mechanism, the act and its audit event in the check's transaction.

The bank and branch are chosen by code from the Zengin data (payments/banks.py). The holder's name is
the Zengin half-width kana: what is typed in full width or in hiragana is converted, and a character
the Zengin set does not hold is refused, named. An account at this bank must exist and be open; its
holder's name is then the bank's (口座名義照会), not what was typed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from corpbank.authorization.operations import Operation, check_factors
from corpbank.core import audit, text
from corpbank.core.errors import FactorsRejected, NotFound, ValidationFailed
from corpbank.identity import lockout
from corpbank.ledger import selectors as ledger
from corpbank.organizations.models import Account, CustomerUser, Permission
from corpbank.payments import banks, permissions, zengin
from corpbank.payments.models import Payee

MAX_PAYEES = 999
# 受取人名: 30 characters in the Zengin file.
HOLDER_WIDTH = 30


def holder_name(typed: str) -> str:
    """受取人名 as typed, in the Zengin half-width kana: full width and hiragana converted, small kana
    written large; a character the set does not hold refused, named."""
    name = " ".join(zengin.conventional(text.half_width_kana(typed)).split())
    label = _("受取人名（口座名義）")
    if not name:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={"holder": _("%(label)sを入力してください。") % {"label": label}},
        )
    # Named as the person typed it (「・」, not the 「･」 it becomes), when one typed character is to blame.
    bad = next(
        (
            character
            for character in typed
            if any(c not in zengin.CHARACTERS for c in zengin.conventional(text.half_width_kana(character)))
            and not character.isspace()
        ),
        None,
    ) or next((character for character in name if character not in zengin.CHARACTERS), None)
    if bad is not None:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={
                "holder": _(
                    "%(label)sに使えない文字「%(character)s」が含まれています。"
                    "カナ・英大文字・数字・スペースと記号 ( ) . , - / ｢ ｣ ¥ で入力してください。"
                )
                % {"label": label, "character": bad}
            },
        )
    if len(name) > HOLDER_WIDTH:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={
                "holder": _("%(label)sは半角%(width)d文字以内で入力してください。")
                % {"label": label, "width": HOLDER_WIDTH}
            },
        )
    return name


@dataclasses.dataclass(frozen=True)
class PayeeInput:
    """A payee as typed: every field a string, as it came from a form or the API."""

    bank_code: str
    branch_code: str
    type: str
    number: str
    holder: str = ""
    nickname: str = ""


@dataclasses.dataclass(frozen=True)
class Checked:
    """A payee's account as the bank knows it: the names from the Zengin data (or the bank's own
    records), the holder's name from the bank's ledger for an account at this bank."""

    branch: banks.BankBranch
    type: str
    number: str
    holder_kana: str
    nickname: str = ""
    # For this bank's account: a holder's name was typed and it is not the bank's.
    holder_differs: bool = False

    @property
    def bank(self) -> banks.Bank:
        return self.branch.bank

    def columns(self) -> dict[str, str]:
        """A payee's row as the bank knows the account."""
        return {
            "bank_code": self.bank.code,
            "bank_name": self.bank.name,
            "branch_code": self.branch.code,
            "branch_name": self.branch.name,
            "type": self.type,
            "number": self.number,
            "holder_kana": self.holder_kana,
            "nickname": self.nickname,
        }


def holder_of(branch_code: str, type: str, number: str) -> str | None:
    """口座名義照会: the holder's name of an open account at this bank, or None."""
    held = ledger.customer_account_at(branch_code, type, number, open_only=True)
    return held.holder_kana if held is not None else None


def check(typed: PayeeInput) -> Checked:
    """The account typed, as the bank knows it, or ValidationFailed naming every field that is wrong
    and saying what to do."""
    problems: dict[str, str] = {}
    bank_code, branch_code = text.half_width(typed.bank_code), text.half_width(typed.branch_code)
    number, type = text.half_width(typed.number), text.half_width(typed.type)
    bank = banks.bank(bank_code) if len(bank_code) == 4 and text.is_digits(bank_code) else None
    if bank is None:
        problems["bank_code"] = _(
            "金融機関コード（4桁）をご確認ください。金融機関名から検索することもできます。"
        )
    branch = banks.branch(bank_code, branch_code) if bank is not None else None
    if bank is not None and branch is None:
        problems["branch_code"] = _("支店コード（3桁）をご確認ください。支店名から検索することもできます。")
    if type not in Account.Type.values:
        problems["type"] = _("預金種目（普通・当座）を選んでください。")
    if text.is_digits(number) and len(number) < 7:
        number = number.zfill(7)  # 「102」 is 0000102, as a passbook's number is read
    if not (len(number) == 7 and text.is_digits(number)):
        problems["number"] = _("口座番号は7桁以内の数字で入力してください。")
    nickname = typed.nickname.strip()
    if len(nickname) > 30:
        problems["nickname"] = _("登録名は30文字以内で入力してください。")
    holder = ""
    if bank is not None and bank.is_own:
        # 口座名義照会: this bank's own name for the account, never what was typed.
        found = holder_of(branch.code, type, number) if branch is not None and not problems else None
        if found is None and not problems:
            problems["number"] = _(
                "ご指定の口座は当金庫にありません（または解約済みです）。支店・預金種目・口座番号をご確認ください。"
            )
        elif found is not None:
            holder = found[:HOLDER_WIDTH]
    elif bank is not None:
        try:
            holder = holder_name(typed.holder)
        except ValidationFailed as refused:
            problems.update(refused.fields)
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    assert branch is not None  # noqa: S101 - problems would name it
    differs = False
    if bank is not None and bank.is_own and typed.holder.strip():
        try:
            differs = holder_name(typed.holder).replace(" ", "") != zengin.conventional(holder).replace(
                " ", ""
            )
        except ValidationFailed:
            differs = True
    return Checked(branch, type, number, holder, nickname, differs)


def check_new(user: CustomerUser, typed: PayeeInput, *, other_than: int | None = None) -> Checked:
    """A payee to register (or ``other_than`` to change): checked as :func:`check`, and not one the
    contract has already, told at input rather than after the factors."""
    checked = check(typed)
    _duplicate(user, checked, other_than=other_than)
    return checked


def payees(user: CustomerUser) -> list[Payee]:
    """The contract's payees, by bank, branch and number: for payee management and for choosing one
    when transferring."""
    _may_read(user)
    return list(
        Payee.objects.filter(contract_id=user.contract_id).order_by(
            "bank_code", "branch_code", "number", "pk"
        )
    )


def _may_read(user: CustomerUser) -> None:
    if not permissions.may(user, Permission.SINGLE_TRANSFER):
        permissions.require(user, Permission.PAYEE_MANAGEMENT)


def require_management(user: CustomerUser) -> None:
    """振込先管理's own permission: registering, changing, deleting, and the pages that lead there."""
    permissions.require(user, Permission.PAYEE_MANAGEMENT)


def payee_of(user: CustomerUser, payee_id: int) -> Payee:
    """One of the contract's payees, for a user who manages them or transfers to them."""
    _may_read(user)
    payee = Payee.objects.filter(pk=payee_id, contract_id=user.contract_id).first()
    if payee is None:
        raise NotFound(_("指定された振込先は見つかりません。"))
    return payee


def _details(payee: Payee) -> dict[str, str]:
    return {
        "payee_id": str(payee.pk),
        "bank_code": payee.bank_code,
        "branch_code": payee.branch_code,
        "type": payee.type,
        "number": payee.number,
        "holder": payee.holder_kana,
    }


def _authorized(
    user: CustomerUser, factors: dict[str, str], ip_address: str, act: Callable[[audit.Actor], Payee]
) -> Payee:
    permissions.require(user, Permission.PAYEE_MANAGEMENT)
    actor = audit.Actor.customer(user, ip_address)
    return lockout.verified(
        lambda: check_factors(Operation.PAYEE_REGISTRATION, user=user, supplied=factors, actor=actor),
        lambda: act(actor),
        refused=FactorsRejected,
        master=user.is_master,
    )


def _duplicate(user: CustomerUser, checked: Checked, *, other_than: int | None = None) -> None:
    same = Payee.objects.filter(
        contract_id=user.contract_id,
        bank_code=checked.bank.code,
        branch_code=checked.branch.code,
        type=checked.type,
        number=checked.number,
    )
    if other_than is not None:
        same = same.exclude(pk=other_than)
    if same.exists():
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={"number": _("この口座はすでに振込先に登録されています。")},
        )


def register(user: CustomerUser, typed: PayeeInput, factors: dict[str, str], ip_address: str = "") -> Payee:
    """振込先の登録."""
    permissions.require(user, Permission.PAYEE_MANAGEMENT)
    checked = check_new(user, typed)

    def act(actor: audit.Actor) -> Payee:
        _duplicate(user, checked)
        if Payee.objects.filter(contract_id=user.contract_id).count() >= MAX_PAYEES:
            raise ValidationFailed(_("振込先は%(count)d件まで登録できます。") % {"count": MAX_PAYEES})
        payee = Payee.objects.create(contract_id=user.contract_id, **checked.columns())
        audit.record(
            "payee.registered",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details=_details(payee),
        )
        return payee

    return _authorized(user, factors, ip_address, act)


def change(
    user: CustomerUser, payee_id: int, typed: PayeeInput, factors: dict[str, str], ip_address: str = ""
) -> Payee:
    """振込先の変更: any of its fields, checked as at registration."""
    permissions.require(user, Permission.PAYEE_MANAGEMENT)
    payee = payee_of(user, payee_id)
    checked = check_new(user, typed, other_than=payee.pk)

    def act(actor: audit.Actor) -> Payee:
        _duplicate(user, checked, other_than=payee.pk)
        changed = Payee.objects.filter(pk=payee.pk, contract_id=user.contract_id).update(
            **checked.columns(), changed_at=timezone.now()
        )
        if not changed:  # deleted meanwhile
            raise NotFound(_("指定された振込先は見つかりません。"))
        after = Payee.objects.get(pk=payee.pk)
        audit.record(
            "payee.changed",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={**_details(after), "before": _details(payee)},
        )
        return after

    return _authorized(user, factors, ip_address, act)


def delete(user: CustomerUser, payee_id: int, factors: dict[str, str], ip_address: str = "") -> Payee:
    """振込先の削除. Transfers already ordered to it keep the account they name."""
    permissions.require(user, Permission.PAYEE_MANAGEMENT)
    payee = payee_of(user, payee_id)

    def act(actor: audit.Actor) -> Payee:
        if not Payee.objects.filter(Q(pk=payee.pk) & Q(contract_id=user.contract_id)).delete()[0]:
            raise NotFound(_("指定された振込先は見つかりません。"))
        audit.record(
            "payee.deleted",
            actor=actor,
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details=_details(payee),
        )
        return payee

    return _authorized(user, factors, ip_address, act)
