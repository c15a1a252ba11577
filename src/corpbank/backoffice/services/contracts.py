"""Paper procedures on a contract: its registration (R-A2, R-B7), emergency stop and its lifting, the
change of its PINs (R-B4), and the start of one-time passwords (R-E2)."""

from __future__ import annotations

import dataclasses

from django.conf import settings
from django.db.models import F, Max
from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.accounts import same_name
from corpbank.backoffice.services.details import choice, row, yen
from corpbank.backoffice.services.paper import (
    InitialPasswordLetter,
    OnContract,
    PaperProcedure,
    contract_of,
    enter,
    hash_pins,
    invalid,
    issue_initial_password,
    stop_holding,
)
from corpbank.core import audit, text
from corpbank.core.errors import Conflict, ValidationFailed
from corpbank.identity.credentials import is_mail_address, store_pin
from corpbank.identity.models import CONTRACT_PIN_KINDS, Principal, SecretKind
from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger
from corpbank.ledger.models import LedgerAccount
from corpbank.organizations.models import Account, Branch, Contract, CustomerUser, Organization, UsageLimit
from corpbank.payments import zengin
from corpbank.tokens import softtokens

DEFAULT_CONTRACT_LIMITS = {kind: (10_000_000, 30_000_000) for kind in UsageLimit.Kind.values}


@dataclasses.dataclass(frozen=True)
class AccountInput:
    branch_code: str
    type: str
    number: str


@dataclasses.dataclass(frozen=True)
class ContractApplication:
    """The paper application for a new contract, as the operator types it in."""

    organization_name: str
    organization_name_kana: str
    branch_code: str
    master_name: str
    accounts: list[AccountInput]
    login_method: str
    pins: dict[str, str]
    limits: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    # ワンタイムパスワードを利用する: the operations of the OTP column then need a token's code (R-E2).
    otp_required: bool = False
    # Where the bank's notices go (R-I4).
    notification_email: str = ""
    # The application is for software tokens (R-E9): from approval the users may issue one, and the
    # organization is told so (ワンタイムパスワード申請お取扱い開始のご案内). Implies otp_required.
    software_tokens: bool = False


# What the database keeps (Django's documented Model _meta API): the messages repeat its limits.
ORGANIZATION_NAME_LENGTH = int(Organization._meta.get_field("name").max_length or 0)
USER_NAME_LENGTH = int(CustomerUser._meta.get_field("name").max_length or 0)


def _held_account(account: AccountInput) -> LedgerAccount | None:
    """The bank's account of this key, if its ledger holds one already."""
    branch = Branch.objects.filter(code=account.branch_code).first()
    return ledger_selectors.customer_account(branch.pk, account.type, account.number) if branch else None


def _is_half_width_kana(value: str) -> bool:
    # Half-width katakana, digits, upper-case letters, space and the Zengin symbols ( ) . - /
    allowed = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ ().-/")
    return bool(value) and all(c in allowed or "\uff66" <= c <= "\uff9f" for c in value)


def _as_typed(request: ContractApplication) -> ContractApplication:
    """Branch codes and account numbers typed in full-width are the half-width ones (core/text.py);
    the kana name typed in full-width katakana or hiragana is the half-width kana the Zengin format
    wants; the other names stay as typed."""
    return dataclasses.replace(
        request,
        # As the bank's records hold names: small kana written large (zengin.large_kana).
        organization_name_kana=zengin.large_kana(text.half_width_kana(request.organization_name_kana)),
        branch_code=text.half_width(request.branch_code),
        accounts=[
            AccountInput(text.half_width(a.branch_code), text.half_width(a.type), text.half_width(a.number))
            for a in request.accounts
        ],
    )


def _next_contract_number(branch: Branch) -> str:
    # Branch code and a 7-digit serial; the unique constraint guards the race, the lock on the chain
    # head taken by every audited act serialises registrations in practice.
    last = Contract.objects.filter(number__startswith=branch.code).aggregate(last=Max("number"))["last"]
    serial = int(last[3:]) + 1 if last else 1
    return f"{branch.code}{serial:07d}"


class RegisterContract(PaperProcedure[ContractApplication]):
    """契約の新規登録: the contract, its accounts, PINs and limits, and its master awaiting the first
    registration with the initial password of the letter (R-A2, R-B7)."""

    kind = "register_contract"

    def check(self, request: ContractApplication) -> engine.Entry:
        typed_kana = request.organization_name_kana
        request = _as_typed(request)
        problems: dict[str, str] = {}
        if problem := text.name_problem(
            request.organization_name, label=_("団体名"), max_length=ORGANIZATION_NAME_LENGTH
        ):
            problems["organization_name"] = problem
        if not _is_half_width_kana(request.organization_name_kana):
            # Named as typed (「・」, not the 「･」 it becomes).
            wrong = next(
                (
                    c
                    for c in typed_kana
                    if not c.isspace() and not _is_half_width_kana(text.half_width_kana(c))
                ),
                "",
            )
            problems["organization_name_kana"] = (
                _(
                    "団体名（カナ）はカナ・英数字と記号 ( ) . - / で入力してください"
                    "（「%(c)s」は使えません）。"
                )
                % {"c": wrong}
                if wrong
                else _("団体名（カナ）を入力してください。")
            )
        elif len(request.organization_name_kana) > ORGANIZATION_NAME_LENGTH:  # converted: ﾀﾞ is two
            problems["organization_name_kana"] = _("団体名（カナ）は半角で120文字以内で入力してください。")
        if not Branch.objects.filter(code=request.branch_code).exists():
            problems["branch_code"] = _("店番が見つかりません。")
        if problem := text.name_problem(
            request.master_name, label=_("マスターユーザ名"), max_length=USER_NAME_LENGTH
        ):
            problems["master_name"] = problem
        if request.notification_email and not is_mail_address(request.notification_email):
            problems["notification_email"] = _("メールアドレスの形式をご確認ください。")
        if request.login_method not in Contract.LoginMethod.values:
            problems["login_method"] = _("ログイン方式を選択してください。")
        elif request.login_method not in settings.CORPBANK_LOGIN_METHODS:
            problems["login_method"] = _("当金庫ではこのログイン方式をお取扱いしていません。")
        if not request.accounts:
            problems["accounts"] = _("口座を1つ以上入力してください。")
        seen: set[tuple[str, str, str]] = set()
        for index, account in enumerate(request.accounts):
            key = (account.branch_code, account.type, account.number)
            if key in seen:
                # Two rows of one account: the second would break the unique constraint at approval.
                problems[f"accounts.{index}"] = _("同じ口座が重複しています。")
                continue
            seen.add(key)
            if not Branch.objects.filter(code=account.branch_code).exists() or not Account.well_formed(
                account.type, account.number
            ):
                problems[f"accounts.{index}"] = _("口座（店番・科目・口座番号7桁）をご確認ください。")
            elif Account.objects.filter(
                branch__code=account.branch_code, type=account.type, number=account.number
            ).exists():
                problems[f"accounts.{index}"] = _("この口座は既に他の契約に登録されています。")
            elif (held := _held_account(account)) is not None and held.closed_at is not None:
                # A closed account takes no contract; an open one the bank holds shows its holder's
                # name to the approver beside the organization's (details below).
                problems[f"accounts.{index}"] = _("この口座は解約済みです。")
            elif held is not None and not same_name(held.holder_kana, request.organization_name_kana):
                # Someone else's money: an account the bank holds in another name takes no contract.
                problems[f"accounts.{index}"] = _(
                    "この口座の名義（%(holder)s）はご契約の団体名（%(organization)s）と一致しません。"
                ) % {
                    "holder": held.holder_kana,
                    "organization": text.half_width_kana(request.organization_name_kana),
                }
        limits = {**DEFAULT_CONTRACT_LIMITS, **request.limits}
        for kind, (per_transaction, per_day) in limits.items():
            if kind not in UsageLimit.Kind.values or not 0 <= per_transaction <= per_day:
                problems[f"limit_{kind}"] = _("利用限度額をご確認ください。")
        try:
            hashed_pins = hash_pins(request.pins, all_required=True)
        except ValidationFailed as error:
            problems.update(error.fields)
        if problems:
            raise invalid(problems)
        payload = {
            "organization_name": request.organization_name.strip(),
            "organization_name_kana": request.organization_name_kana,
            "branch_code": request.branch_code,
            "master_name": request.master_name.strip(),
            "accounts": [dataclasses.asdict(a) for a in request.accounts],
            "login_method": request.login_method,
            "pin_hashes": hashed_pins,
            "limits": {kind: list(values) for kind, values in limits.items()},
            "otp_required": bool(request.otp_required or request.software_tokens),
            "software_tokens": bool(request.software_tokens),
            "notification_email": request.notification_email.strip(),
        }
        return engine.Entry(contract=None, payload=payload)

    def summary(self, request: ContractApplication, entry: engine.Entry) -> str:
        return _("契約の新規登録: %(name)s") % {"name": entry.payload["organization_name"]}

    def details(self, action: PendingAction) -> list[engine.Detail]:
        data = action.payload
        branches = dict(Branch.objects.values_list("code", "name"))

        def branch(code: str) -> str:
            return f"{code} {branches.get(code, '')}".strip()

        def account(entered: dict[str, str]) -> str:
            kind = choice(Account.Type, entered["type"])
            shown = f"{branch(entered['branch_code'])} {kind} {entered['number']}"
            # The approver compares the holder the bank has on record with the organization's name.
            held = _held_account(AccountInput(entered["branch_code"], entered["type"], entered["number"]))
            if held is None:
                return shown + " " + _("（新規開設）")
            return shown + " " + _("（名義：%(holder)s）") % {"holder": held.holder_kana}

        pins = [SecretKind(kind).label for kind in CONTRACT_PIN_KINDS if kind in data.get("pin_hashes", {})]
        limits = data.get("limits", {})
        return [
            row("organization_name", _("団体名"), data["organization_name"]),
            row("organization_name_kana", _("団体名（半角カナ）"), data["organization_name_kana"]),
            row("branch_code", _("お取引店"), branch(data["branch_code"])),
            row("master_name", _("マスターユーザ名"), data["master_name"]),
            row(
                "notification_email",
                _("連絡先メールアドレス"),
                data.get("notification_email") or _("（なし）"),
            ),
            row("login_method", _("ログイン方式"), choice(Contract.LoginMethod, data["login_method"])),
            row("otp_required", _("ワンタイムパスワード"), _otp_use(data)),
            *(
                row(f"accounts.{index}", _("口座 %(number)d") % {"number": index + 1}, account(entered))
                for index, entered in enumerate(data.get("accounts", []))
            ),
            row(
                "pin_hashes",
                _("暗証番号"),
                _("%(kinds)sを登録（暗証番号は表示しません）") % {"kinds": "・".join(map(str, pins))},
            ),
            *(
                row(
                    f"limits.{kind}",
                    _("利用限度額（%(kind)s）") % {"kind": label},
                    _("1回あたり %(per_transaction)s・1日あたり %(per_day)s")
                    % {"per_transaction": yen(limits[kind][0]), "per_day": yen(limits[kind][1])},
                )
                for kind, label in UsageLimit.Kind.choices
                if kind in limits
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> InitialPasswordLetter:
        data = action.payload
        branch = Branch.objects.get(code=data["branch_code"])
        organization = Organization.objects.create(
            name=data["organization_name"],
            name_kana=data["organization_name_kana"],
            notification_email=data.get("notification_email", ""),
        )
        contract = Contract.objects.create(
            number=_next_contract_number(branch),
            organization=organization,
            branch=branch,
            login_method=data["login_method"],
            otp_required=data.get("otp_required", False),
        )
        if data.get("software_tokens"):
            softtokens.enable_for_contract(contract, actor=actor)
        opened = []
        for account in data["accounts"]:
            account_branch = Branch.objects.get(code=account["branch_code"])
            # Another registration or 口座の追加 approved since this entry took the account.
            if Account.objects.filter(
                branch=account_branch, type=account["type"], number=account["number"]
            ).exists():
                raise Conflict(
                    _("口座 %(account)s は受付の後に他の契約に登録されました。この申込は却下してください。")
                    % {"account": f"{account_branch.code}-{account['type']}-{account['number']}"}
                )
            Account.objects.create(
                contract=contract, branch=account_branch, type=account["type"], number=account["number"]
            )
            # The embedded core banking opens, in the organization's name, an account it does not
            # hold yet (a bank's own core system holds its customers' accounts already); one closed
            # since the entry takes no contract.
            held = ledger_selectors.customer_account(account_branch.pk, account["type"], account["number"])
            if held is not None and held.closed_at is not None:
                raise Conflict(
                    _("口座 %(account)s は受付の後に解約されました。この申込は却下してください。")
                    % {"account": str(held)}
                )
            if held is not None and not same_name(held.holder_kana, organization.name_kana):
                raise Conflict(
                    _("口座 %(account)s の名義が団体名と一致しません。この申込は却下してください。")
                    % {"account": str(held)}
                )
            if held is None:
                ledger.open_customer_account(
                    branch=account_branch,
                    type=account["type"],
                    number=account["number"],
                    holder=organization.name_kana,
                )
                opened.append(f"{account_branch.code}-{account['type']}-{account['number']}")
        for kind, pin_hash in data["pin_hashes"].items():
            store_pin(contract_id=contract.pk, kind=kind, pin_hash=pin_hash)
        for kind, (per_transaction, per_day) in data["limits"].items():
            UsageLimit.objects.create(
                contract=contract, kind=kind, per_transaction=per_transaction, per_day=per_day
            )
        principal = Principal.objects.create(kind=Principal.Kind.CUSTOMER_USER)
        master = CustomerUser.objects.create(
            contract=contract,
            principal=principal,
            role=CustomerUser.Role.MASTER,
            name=data["master_name"],
            status=CustomerUser.Status.AWAITING_REGISTRATION,
        )
        action.contract = contract
        letter = issue_initial_password(contract, master)
        audit.record(
            "contract.registered",
            actor=actor,
            contract_id=contract.pk,
            subject_user_id=master.pk,
            details={"contract_number": contract.number, "action_id": action.pk, "accounts_opened": opened},
        )
        return letter


@dataclasses.dataclass(frozen=True)
class EmergencyStopRequest:
    contract_id: int
    reason: str


class EmergencyStop(PaperProcedure[EmergencyStopRequest]):
    """緊急停止: the contract stops and its users' sessions end."""

    kind = "emergency_stop"
    one_pending_per_contract = True

    def check(self, request: EmergencyStopRequest) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if contract.status != Contract.Status.ACTIVE:
            raise Conflict(_("この契約は利用中ではありません。"))
        # Why the bank stops a customer's contract is on record (the customer's call, a suspicion).
        reason = text.reason(request.reason, required=True)
        return engine.Entry(contract=contract, payload={"reason": reason})

    def summary(self, request: EmergencyStopRequest, entry: engine.Entry) -> str:
        return _("緊急停止")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        return [
            _status_row(action, Contract.Status.EMERGENCY_STOPPED),
            row("reason", _("理由"), action.payload.get("reason") or _("（記載なし）")),
            row("sessions", _("利用中の方"), _("契約のすべての利用者のログインを終了します")),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        stop_holding(contract)
        updated = Contract.objects.filter(pk=contract.pk, status=Contract.Status.ACTIVE).update(
            status=Contract.Status.EMERGENCY_STOPPED, session_epoch=F("session_epoch") + 1
        )
        if not updated:
            raise Conflict(_("この契約は利用中ではありません。"))
        # Its users' sessions end at their next request, which reads the contract's session epoch
        # (web/sessions), even after the stop is lifted: no user's row is locked under the contract's.
        audit.record(
            "contract.emergency_stopped",
            actor=actor,
            contract_id=contract.pk,
            details={"action_id": action.pk, "reason": action.payload.get("reason", "")},
        )


class LiftEmergencyStop(PaperProcedure[OnContract]):
    """緊急停止の解除."""

    kind = "lift_emergency_stop"
    one_pending_per_contract = True

    def check(self, request: OnContract) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if contract.status != Contract.Status.EMERGENCY_STOPPED:
            raise Conflict(_("この契約は緊急停止中ではありません。"))
        return engine.Entry(contract=contract)

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("緊急停止の解除")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        return [_status_row(action, Contract.Status.ACTIVE)]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        updated = Contract.objects.filter(pk=contract.pk, status=Contract.Status.EMERGENCY_STOPPED).update(
            status=Contract.Status.ACTIVE
        )
        if not updated:
            raise Conflict(_("この契約は緊急停止中ではありません。"))
        audit.record(
            "contract.emergency_stop_lifted",
            actor=actor,
            contract_id=contract.pk,
            details={"action_id": action.pk},
        )


@dataclasses.dataclass(frozen=True)
class PinChange:
    contract_id: int
    # Only the PINs to change, in clear as typed in; the entry keeps their hashes.
    pins: dict[str, str]


class ChangePins(PaperProcedure[PinChange]):
    """暗証番号変更 on the paper form (R-B4): the named PINs only."""

    kind = "change_pins"
    one_pending_per_contract = True

    def check(self, request: PinChange) -> engine.Entry:
        contract = contract_of(request.contract_id)
        hashed = hash_pins(request.pins, all_required=False)
        return engine.Entry(contract=contract, payload={"pin_hashes": hashed})

    def summary(self, request: PinChange, entry: engine.Entry) -> str:
        return _("暗証番号の変更")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        changing = action.payload.get("pin_hashes", {})
        return [
            row(
                f"pin_hashes.{kind}",
                SecretKind(kind).label,
                _("変更する（新しい暗証番号は表示しません）") if kind in changing else _("変更しない"),
            )
            for kind in CONTRACT_PIN_KINDS
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        for kind, pin_hash in action.payload["pin_hashes"].items():
            store_pin(contract_id=contract.pk, kind=kind, pin_hash=pin_hash)
        audit.record(
            "contract.pins_changed",
            actor=actor,
            contract_id=contract.pk,
            details={"kinds": sorted(action.payload["pin_hashes"]), "action_id": action.pk},
        )


class StartOtp(PaperProcedure[OnContract]):
    """ワンタイムパスワード申込書: from its approval the contract's OTP-column operations need a code, and
    its users register a token at their next login (R-E2, R-E7)."""

    kind = "start_otp"
    one_pending_per_contract = True

    def check(self, request: OnContract) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if contract.otp_required:
            raise Conflict(_("この契約は既にワンタイムパスワードを利用しています。"))
        return engine.Entry(contract=contract)

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("ワンタイムパスワードの利用開始")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        contract = action.contract
        return [
            row(
                "otp_required",
                _("ワンタイムパスワード"),
                _("利用する（利用者は次回ログイン時にパスワード生成機を登録します）"),
                before=_otp_use(
                    {"otp_required": contract.otp_required, "software_tokens": contract.software_tokens}
                )
                if contract is not None
                else None,
            )
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        if not Contract.objects.filter(pk=contract.pk, otp_required=False).update(otp_required=True):
            raise Conflict(_("この契約は既にワンタイムパスワードを利用しています。"))
        audit.record(
            "contract.otp_started", actor=actor, contract_id=contract.pk, details={"action_id": action.pk}
        )


def _otp_use(data: dict[str, object]) -> str:
    """ワンタイムパスワード as the application or the contract has it."""
    if data.get("software_tokens"):
        return _("利用する（ソフトウェアトークン）")
    if data.get("otp_required"):
        return _("利用する（パスワード生成機）")
    return _("利用しない")


def _status_row(action: PendingAction, after: Contract.Status) -> engine.Detail:
    """The contract's 状態: now, and once the entry is approved."""
    before = choice(Contract.Status, action.contract.status) if action.contract is not None else None
    return row("status", _("契約の状態"), after.label, before=before)


REGISTER_CONTRACT = engine.register(RegisterContract())
EMERGENCY_STOP = engine.register(EmergencyStop())
LIFT_EMERGENCY_STOP = engine.register(LiftEmergencyStop())
CHANGE_PINS = engine.register(ChangePins())
START_OTP = engine.register(StartOtp())


def enter_contract_registration(
    operator: Operator, application: ContractApplication, *, ip_address: str = ""
) -> PendingAction:
    return enter(REGISTER_CONTRACT, operator, application, ip_address=ip_address)


def application_problems(application: ContractApplication) -> dict[str, str]:
    """What the entry would refuse in ``application``, field by field, without entering anything: for a
    screen that found problems of its own (limits it could not read) to tell every problem at once."""
    try:
        REGISTER_CONTRACT.check(application)
    except ValidationFailed as refused:
        return dict(refused.fields)
    return {}


def enter_emergency_stop(
    operator: Operator, contract_id: int, *, reason: str, ip_address: str = ""
) -> PendingAction:
    return enter(EMERGENCY_STOP, operator, EmergencyStopRequest(contract_id, reason), ip_address=ip_address)


def enter_emergency_stop_lift(operator: Operator, contract_id: int, *, ip_address: str = "") -> PendingAction:
    return enter(LIFT_EMERGENCY_STOP, operator, OnContract(contract_id), ip_address=ip_address)


def enter_pin_change(
    operator: Operator, contract_id: int, pins: dict[str, str], *, ip_address: str = ""
) -> PendingAction:
    """暗証番号変更 on the paper form (R-B4)."""
    return enter(CHANGE_PINS, operator, PinChange(contract_id, pins), ip_address=ip_address)


def enter_otp_application(operator: Operator, contract_id: int, *, ip_address: str = "") -> PendingAction:
    """ワンタイムパスワード申込書 (R-E2, R-E7)."""
    return enter(START_OTP, operator, OnContract(contract_id), ip_address=ip_address)
