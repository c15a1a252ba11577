"""Paper procedures on tokens: shipping hardware tokens from the bank's stock (R-E1, R-E3, R-E5), and the
software tokens' start (R-E9) and stop or cancellation (R-E10)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.details import choice, person, row
from corpbank.backoffice.services.paper import OnContract, PaperProcedure, contract_of, enter, invalid
from corpbank.core import audit, text
from corpbank.core.errors import Conflict
from corpbank.tokens import services as tokens
from corpbank.tokens import softtokens
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenFee


@dataclasses.dataclass(frozen=True)
class TokenShipment:
    contract_id: int
    serials: list[str]
    # Empty for the tokens of the application; a TokenFee.Reason for an additional token or a reissue.
    fee_reason: str = ""


class ShipTokens(PaperProcedure[TokenShipment]):
    """パスワード生成機の発送: tokens from the stock to the organization (R-E1, R-E5); for an additional
    token or a reissue after loss, with the bank's fee (R-E3)."""

    kind = "ship_tokens"

    def check(self, request: TokenShipment) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if request.fee_reason and request.fee_reason not in TokenFee.Reason.values:
            raise invalid({"fee_reason": _("発行区分をご確認ください。")})
        typed = (text.half_width(serial).upper() for serial in request.serials)
        wanted = sorted({serial for serial in typed if serial})
        if not wanted:
            raise invalid({"serials": _("シリアル番号を入力してください。")})
        in_stock = set(
            Token.objects.filter(serial__in=wanted, state=Token.State.IN_STOCK).values_list(
                "serial", flat=True
            )
        )
        missing = [serial for serial in wanted if serial not in in_stock]
        if missing:
            raise invalid(
                {"serials": _("在庫にないシリアル番号: %(serials)s") % {"serials": ", ".join(missing)}}
            )
        # A token in another shipment awaiting its approval is taken: the later one could only fail.
        waiting = {
            serial
            for payload in PendingAction.objects.filter(
                kind=self.kind, status=PendingAction.Status.PENDING
            ).values_list("payload", flat=True)
            for serial in payload.get("serials", [])
        }
        if taken := [serial for serial in wanted if serial in waiting]:
            raise invalid(
                {
                    "serials": _("ほかの発送手続で承認待ちのシリアル番号: %(serials)s")
                    % {"serials": ", ".join(taken)}
                }
            )
        return engine.Entry(contract=contract, payload={"serials": wanted, "fee_reason": request.fee_reason})

    def summary(self, request: TokenShipment, entry: engine.Entry) -> str:
        return _("パスワード生成機の発送（%(count)d台）") % {"count": len(entry.payload["serials"])}

    def details(self, action: PendingAction) -> list[engine.Detail]:
        serials = action.payload["serials"]
        found = {token.serial: token for token in Token.objects.filter(serial__in=serials)}
        fee_reason = action.payload.get("fee_reason", "")

        def shown(serial: str) -> str:
            token = found.get(serial)
            if token is None or token.expires_on is None:
                return serial
            # The date as every screen writes it, and as printed on the token's back (R-E1: MM/DD/YY).
            return _("%(serial)s（有効期限 %(expires)s、裏面の表示 %(printed)s）") % {
                "serial": serial,
                "expires": text.day(token.expires_on),
                "printed": token.expires_on.strftime("%m/%d/%y"),
            }

        return [
            row("count", _("台数"), _("%(count)d台") % {"count": len(serials)}),
            row(
                "fee_reason",
                _("発行区分"),
                _("%(reason)s（1台ごとに手数料を記録します）")
                % {"reason": choice(TokenFee.Reason, fee_reason)}
                if fee_reason
                else _("初回発行（無料）"),
            ),
            *(
                row(
                    f"serials.{index}",
                    _("シリアル番号"),
                    shown(serial),
                    before=found[serial].get_state_display() if serial in found else None,
                )
                for index, serial in enumerate(serials)
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        tokens.ship_to_contract(
            action.payload["serials"],
            contract_of(action.contract_id),
            actor=actor,
            fee_reason=action.payload.get("fee_reason", ""),
        )


class StartSoftwareTokens(PaperProcedure[OnContract]):
    """ワンタイムパスワード申込書 for software tokens (R-E9 step 1)."""

    kind = "start_software_tokens"
    one_pending_per_contract = True

    def check(self, request: OnContract) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if contract.software_tokens:
            raise Conflict(_("この契約は既にソフトウェアトークンを利用できます。"))
        return engine.Entry(contract=contract)

    def summary(self, request: OnContract, entry: engine.Entry) -> str:
        return _("ソフトウェアトークンのお取扱い開始")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        contract = action.contract
        return [
            row(
                "software_tokens",
                _("ソフトウェアトークン"),
                _("お取扱い開始（団体の連絡先へご案内のメールを送ります）")
                if contract is not None and contract.organization.notification_email
                else _(
                    "お取扱い開始（団体の連絡先メールアドレスが未登録のため、ご案内は書面でお送りください）"
                ),
                before=(_("お取扱い中") if contract.software_tokens else _("お取扱いなし"))
                if contract
                else None,
            ),
            row(
                "otp_required",
                _("ワンタイムパスワード"),
                _("利用する"),
                before=(_("利用する") if contract.otp_required else _("利用しない")) if contract else None,
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        softtokens.enable_for_contract(contract_of(action.contract_id), actor=actor)


@dataclasses.dataclass(frozen=True)
class SoftwareTokenEnd:
    contract_id: int
    token_user_id: str


class EndSoftwareToken(PaperProcedure[SoftwareTokenEnd]):
    """ソフトウェアトークンの利用停止 (a lost phone, or ten wrong codes: the user issues a new one to resume)
    or ご利用解除, on the customer's paper form (R-E10): one procedure, two kinds."""

    cancel: ClassVar[bool]

    def check(self, request: SoftwareTokenEnd) -> engine.Entry:
        contract = contract_of(request.contract_id)
        enrolment = (
            SoftwareTokenEnrolment.objects.filter(
                token_user_id=text.half_width(request.token_user_id), token__contract=contract
            )
            .filter(state__in=SoftwareTokenEnrolment.LIVE_STATES)
            .first()
        )
        if enrolment is None:
            raise invalid({"token_user_id": _("対象のソフトウェアトークンが見つかりません。")})
        return engine.Entry(contract=contract, payload={"token_user_id": enrolment.token_user_id})

    def summary(self, request: SoftwareTokenEnd, entry: engine.Entry) -> str:
        return (
            _("ソフトウェアトークンのご利用解除（ユーザID %(id)s）")
            if self.cancel
            else _("ソフトウェアトークンの利用停止（ユーザID %(id)s）")
        ) % {"id": entry.payload["token_user_id"]}

    def details(self, action: PendingAction) -> list[engine.Detail]:
        token_user_id = action.payload["token_user_id"]
        enrolment = (
            SoftwareTokenEnrolment.objects.filter(token_user_id=token_user_id).select_related("user").first()
        )
        after = (
            SoftwareTokenEnrolment.State.CANCELLED if self.cancel else SoftwareTokenEnrolment.State.STOPPED
        )
        return [
            row("token_user_id", _("ユーザID"), token_user_id),
            row("user", _("利用者"), person(enrolment.user if enrolment else None)),
            row("mail_address", _("メールアドレス"), enrolment.mail_address if enrolment else "—"),
            row("state", _("状態"), after.label, before=enrolment.get_state_display() if enrolment else None),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        softtokens.end(token_user_id=action.payload["token_user_id"], cancel=self.cancel, actor=actor)


class StopSoftwareToken(EndSoftwareToken):
    kind = "stop_software_token"
    cancel = False


class CancelSoftwareToken(EndSoftwareToken):
    kind = "cancel_software_token"
    cancel = True


SHIP_TOKENS = engine.register(ShipTokens())
START_SOFTWARE_TOKENS = engine.register(StartSoftwareTokens())
STOP_SOFTWARE_TOKEN = engine.register(StopSoftwareToken())
CANCEL_SOFTWARE_TOKEN = engine.register(CancelSoftwareToken())


def enter_token_shipment(
    operator: Operator, contract_id: int, serials: list[str], *, fee_reason: str = "", ip_address: str = ""
) -> PendingAction:
    """パスワード生成機の発送 (R-E1, R-E3, R-E5)."""
    return enter(
        SHIP_TOKENS, operator, TokenShipment(contract_id, serials, fee_reason), ip_address=ip_address
    )


def enter_software_token_application(
    operator: Operator, contract_id: int, *, ip_address: str = ""
) -> PendingAction:
    """ワンタイムパスワード申込書 for software tokens (R-E9 step 1)."""
    return enter(START_SOFTWARE_TOKENS, operator, OnContract(contract_id), ip_address=ip_address)


def enter_software_token_end(
    operator: Operator, contract_id: int, token_user_id: str, *, cancel: bool, ip_address: str = ""
) -> PendingAction:
    """ソフトウェアトークンの利用停止 or ご利用解除 (R-E10)."""
    return enter(
        CANCEL_SOFTWARE_TOKEN if cancel else STOP_SOFTWARE_TOKEN,
        operator,
        SoftwareTokenEnd(contract_id, token_user_id),
        ip_address=ip_address,
    )
