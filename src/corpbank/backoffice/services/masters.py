"""Paper procedures on the contract's master user: the initialization of its login ID and passwords
(R-B8), the lifting of its stop (R-C3) and of its token's (R-C4), the reset of its secret questions
(R-D3), and the issuance of its client certificate (R-F3, R-F4)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.authentication import risk
from corpbank.authentication.models import SecretQuestion
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.details import access, choice, current_master, master_row, row, when
from corpbank.backoffice.services.paper import (
    InitialPasswordLetter,
    OnContract,
    PaperProcedure,
    contract_of,
    enter,
    issue_initial_password,
    master_of,
)
from corpbank.certificates import services as certificates
from corpbank.core import audit
from corpbank.core.errors import Conflict
from corpbank.identity import lockout
from corpbank.identity.models import Secret, SecretKind
from corpbank.organizations.models import Contract, CustomerUser
from corpbank.tokens import selectors as token_selectors


class InitializeMaster(PaperProcedure[OnContract]):
    """ログインID・ログインパスワード・確認用パスワードの初期化 (R-B8): a new letter, the login ID cleared."""

    kind = "initialize_master"
    one_pending_per_contract = True  # a second entry would only repeat the first

    def check(self, request: OnContract) -> engine.Entry:
        return engine.Entry(contract=contract_of(request.contract_id))

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("マスターユーザのログインID・パスワードの初期化")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        master = current_master(action.contract)
        return [
            master_row(master),
            row(
                "login_id",
                _("ログインID"),
                _("消去（マスターユーザが初回登録で登録し直します）"),
                before=(master.login_id or _("（未登録）")) if master else None,
            ),
            row(
                "passwords",
                _("ログインパスワード・確認用パスワード"),
                _("消去（承認時に新しい初期パスワードを書面で発行します）"),
            ),
            row(
                "status",
                _("状態"),
                CustomerUser.Status.AWAITING_REGISTRATION.label,
                before=choice(CustomerUser.Status, master.status) if master else None,
            ),
            row(
                "access",
                _("ロックアウト・利用停止"),
                _("解除"),
                before=access(master.principal) if master else None,
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> InitialPasswordLetter:
        contract = contract_of(action.contract_id)
        master = master_of(contract)
        Secret.objects.filter(
            principal_id=master.principal_id,
            kind__in=[SecretKind.LOGIN_PASSWORD, SecretKind.CONFIRMATION_PASSWORD],
        ).delete()
        CustomerUser.objects.filter(pk=master.pk).update(
            login_id=None, status=CustomerUser.Status.AWAITING_REGISTRATION
        )
        lockout.lift(
            master.principal_id,
            actor=actor,
            subject_user_id=master.pk,
            contract_id=contract.pk,
            reason="master initialized on paper",
        )
        lockout.end_sessions(master.principal_id)
        letter = issue_initial_password(contract, master)
        audit.record(
            "master.initialized",
            actor=actor,
            contract_id=contract.pk,
            subject_user_id=master.pk,
            details={"action_id": action.pk},
        )
        return letter


class LiftMasterLock(PaperProcedure[OnContract]):
    """The master's stop is lifted by the bank only (R-C3)."""

    kind = "lift_master_lock"
    one_pending_per_contract = True  # a second entry would only repeat the first

    def check(self, request: OnContract) -> engine.Entry:
        return engine.Entry(contract=contract_of(request.contract_id))

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("マスターユーザの利用停止解除")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        master = current_master(action.contract)
        return [
            master_row(master),
            row(
                "access",
                _("ログイン"),
                _("利用可能（連続誤り回数を0に戻します）"),
                before=access(master.principal) if master else None,
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        master = master_of(contract)
        lockout.lift(
            master.principal_id,
            actor=actor,
            subject_user_id=master.pk,
            contract_id=contract.pk,
            reason=f"paper procedure #{action.pk}",
        )


class LiftMasterTokenLock(PaperProcedure[OnContract]):
    """The stop of the token the master uses is lifted by the bank after a paper procedure (R-C4)."""

    kind = "lift_master_token_lock"
    one_pending_per_contract = True  # a second entry would only repeat the first

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("マスターユーザのパスワード生成機の利用停止解除")

    def check(self, request: OnContract) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if not token_selectors.tokens_to_lift(master_of(contract)):
            raise Conflict(
                _("マスターユーザが登録した、または登録しようとしたパスワード生成機がありません。")
            )
        return engine.Entry(contract=contract)

    def details(self, action: PendingAction) -> list[engine.Detail]:
        master = current_master(action.contract)
        tokens = token_selectors.tokens_to_lift(master) if master else []
        if not tokens:
            return [master_row(master), row("token", _("パスワード生成機"), _("（登録されていません）"))]
        return [
            master_row(master),
            *(
                row(
                    f"token.{index}",
                    _("パスワード生成機 %(serial)s の状態") % {"serial": token.serial},
                    _("利用可能（連続誤り回数を0に戻します）"),
                    before=access(token.principal),
                )
                for index, token in enumerate(tokens)
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        master = master_of(contract)
        tokens = token_selectors.tokens_to_lift(master)
        if not tokens:
            raise Conflict(_("マスターユーザにはワンタイムパスワードが登録されていません。"))
        for token in tokens:
            lockout.lift(
                token.principal_id,
                actor=actor,
                subject_user_id=master.pk,
                contract_id=contract.pk,
                reason=f"paper procedure #{action.pk}",
            )


class ResetMasterQuestions(PaperProcedure[OnContract]):
    """追加認証(合言葉認証)の初期化 of the master, on the paper form (R-D3)."""

    kind = "reset_master_questions"
    one_pending_per_contract = True  # a second entry would only repeat the first

    def check(self, request: OnContract) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if not SecretQuestion.objects.filter(user=master_of(contract)).exists():
            raise Conflict(
                _("マスターユーザは追加認証（合言葉）をまだ登録していません。初期化の必要はありません。")
            )
        return engine.Entry(contract=contract)

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("マスターユーザの追加認証(合言葉認証)の初期化")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        master = current_master(action.contract)
        registered = SecretQuestion.objects.filter(user=master).count() if master else 0
        return [
            master_row(master),
            row(
                "secret_questions",
                _("追加認証（合言葉）"),
                _("未登録（次回ログイン時に登録し直します）"),
                before=_("登録済み（%(count)d問）") % {"count": registered} if registered else _("未登録"),
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        master = master_of(contract_of(action.contract_id))
        risk.reset(master, actor=actor, reason=f"paper procedure #{action.pk}")


class EnableMasterCertificate(PaperProcedure[OnContract]):
    """The master's certificate: issuance enabled by the bank on paper (R-F3, R-F4)."""

    kind = "enable_master_certificate"

    def check(self, request: OnContract) -> engine.Entry:
        contract = contract_of(request.contract_id)
        master_of(contract)
        if contract.login_method != Contract.LoginMethod.CERTIFICATE:
            raise Conflict(_("このご契約はID・パスワード方式です。電子証明書は不要です。"))
        return engine.Entry(contract=contract)

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("マスターユーザの電子証明書発行")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        master = current_master(action.contract)
        certificate = certificates.active_certificate(master) if master else None
        return [
            master_row(master),
            row(
                "certificate",
                _("電子証明書"),
                _("発行を許可（マスターユーザが次回ログイン時に取得します）"),
                before=_("有効な証明書あり（シリアル番号 %(serial)s、有効期限 %(until)s）")
                % {"serial": certificate.serial_number, "until": when(certificate.not_after)}
                if certificate
                else _("有効な証明書なし"),
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        certificates.enable_issuance(master_of(contract_of(action.contract_id)), actor=actor)


INITIALIZE_MASTER = engine.register(InitializeMaster())
LIFT_MASTER_LOCK = engine.register(LiftMasterLock())
LIFT_MASTER_TOKEN_LOCK = engine.register(LiftMasterTokenLock())
RESET_MASTER_QUESTIONS = engine.register(ResetMasterQuestions())
ENABLE_MASTER_CERTIFICATE = engine.register(EnableMasterCertificate())


def enter_master_initialization(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """ログインID・ログインパスワード・確認用パスワードの初期化 (R-B8)."""
    return enter(INITIALIZE_MASTER, operator, OnContract(contract_id), ip_address=ip_address)


def enter_master_lock_lift(operator: Operator, contract_id: int, *, ip_address: str = "") -> PendingAction:
    return enter(LIFT_MASTER_LOCK, operator, OnContract(contract_id), ip_address=ip_address)


def enter_master_token_lock_lift(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """The stop of the token the master uses is lifted by the bank after a paper procedure (R-C4)."""
    return enter(LIFT_MASTER_TOKEN_LOCK, operator, OnContract(contract_id), ip_address=ip_address)


def enter_master_questions_reset(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """追加認証(合言葉認証)の初期化 of the master, on the paper form (R-D3)."""
    return enter(RESET_MASTER_QUESTIONS, operator, OnContract(contract_id), ip_address=ip_address)


def enter_master_certificate_issuance(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """The master's certificate: issuance enabled by the bank on paper (R-F3, R-F4)."""
    return enter(ENABLE_MASTER_CERTIFICATE, operator, OnContract(contract_id), ip_address=ip_address)
