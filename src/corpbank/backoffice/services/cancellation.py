"""解約 (cancellation) of a contract on the organization's paper form, four-eyes (R-A1, R-F6).

One transaction, at the second operator's approval: the contract becomes terminated; every client
certificate of its users is revoked and on the CRL the bank publishes (so nginx refuses their handshake
once it has the new CRL); every session of its users ends; its token registrations end and its tokens
are revoked; its accounts are released, so that a new contract for the same organization may register
them. A new contract has users of its own: it never honours the old contract's certificates or tokens.
Nothing more is entered or approved on a terminated contract (``PaperProcedure.admissible``)."""

from __future__ import annotations

import dataclasses

from django.db.models import F
from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.details import choice, row
from corpbank.backoffice.services.paper import (
    PaperProcedure,
    contract_of,
    enter,
    stop_holding,
)
from corpbank.certificates import services as certificates
from corpbank.certificates.models import ClientCertificate
from corpbank.core import audit, text
from corpbank.core.errors import Conflict
from corpbank.organizations.models import Contract
from corpbank.payments import transfers as payment_transfers
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token

REASON = "contract_terminated"


@dataclasses.dataclass(frozen=True)
class TerminationRequest:
    contract_id: int
    reason: str = ""


def _active_certificates(contract: Contract | None) -> list[ClientCertificate]:
    return list(
        ClientCertificate.objects.filter(user__contract=contract, status=ClientCertificate.Status.ACTIVE)
        .select_related("user")
        .order_by("pk")
    )


class TerminateContract(PaperProcedure[TerminationRequest]):
    """解約: the contract ends, and with it every way in that it gave (R-F6)."""

    kind = "terminate_contract"
    one_pending_per_contract = True

    def check(self, request: TerminationRequest) -> engine.Entry:
        contract = contract_of(request.contract_id)
        if contract.status == Contract.Status.TERMINATED:
            raise Conflict(_("この契約は解約済みです。"))
        reason = text.reason(request.reason)
        return engine.Entry(contract=contract, payload={"reason": reason})

    def summary(self, request: TerminationRequest, entry: engine.Entry) -> str:
        return _("解約")

    def details(self, action: PendingAction) -> list[engine.Detail]:
        contract = action.contract
        before = choice(Contract.Status, contract.status) if contract is not None else None
        certificates_count = len(_active_certificates(contract))
        tokens_count = (
            Token.objects.filter(contract=contract)
            .exclude(state__in=[Token.State.LOST, Token.State.REVOKED])
            .count()
        )
        return [
            row("status", _("契約の状態"), Contract.Status.TERMINATED.label, before=before),
            row("reason", _("理由"), action.payload.get("reason") or _("（記載なし）")),
            row(
                "certificates",
                _("電子証明書"),
                _("有効な%(count)d件をすべて失効します（失効リストに載ります）")
                % {"count": certificates_count}
                if certificates_count
                else _("有効な電子証明書はありません"),
            ),
            row(
                "tokens",
                _("ワンタイムパスワード"),
                _("パスワード生成機・ソフトウェアトークン（計%(count)d件）を失効します")
                % {"count": tokens_count}
                if tokens_count
                else _("利用中のパスワード生成機・ソフトウェアトークンはありません"),
            ),
            row("sessions", _("利用中の方"), _("契約のすべての利用者のログインを終了します")),
            row(
                "accounts",
                _("口座"),
                _("%(count)d口座の登録を解除します（新しい契約で登録できます）")
                % {"count": contract.accounts.count() if contract is not None else 0},
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        stop_holding(contract)
        if (
            not Contract.objects.filter(pk=contract.pk)
            .exclude(status=Contract.Status.TERMINATED)
            .update(status=Contract.Status.TERMINATED, session_epoch=F("session_epoch") + 1)
        ):
            raise Conflict(_("この契約は解約済みです。"))
        # Its users' sessions end at their next request, which reads the contract's session epoch
        # (web/sessions): no user's row is locked under the contract's.
        revoked = _active_certificates(contract)
        for certificate in revoked:
            certificates.revoke(certificate, actor=actor, reason=REASON)
        tokens_revoked = tokens.end_for_contract(contract, actor=actor, reason=REASON)
        # Scheduled transfers do not outlive the contract that ordered them (each cancelled, audited and
        # mailed); the accounts are released after, the transfers keeping the ledger's account.
        cancelled = payment_transfers.cancel_for_termination(contract.pk, actor=actor)
        accounts = [
            {"branch": account.branch.code, "type": account.type, "number": account.number}
            for account in contract.accounts.select_related("branch").order_by("pk")
        ]
        contract.accounts.all().delete()
        audit.record(
            "contract.terminated",
            actor=actor,
            contract_id=contract.pk,
            details={
                "action_id": action.pk,
                "reason": action.payload.get("reason", ""),
                "certificates_revoked": [certificate.serial_number for certificate in revoked],
                "tokens_revoked": tokens_revoked,
                "accounts_released": accounts,
                "transfers_cancelled": cancelled,
            },
        )


TERMINATE_CONTRACT = engine.register(TerminateContract())


def enter_contract_termination(
    operator: Operator, contract_id: int, *, reason: str = "", ip_address: str = ""
) -> PendingAction:
    """解約 on the organization's paper form (R-F6); takes effect on a second operator's approval."""
    return enter(TERMINATE_CONTRACT, operator, TerminationRequest(contract_id, reason), ip_address=ip_address)
