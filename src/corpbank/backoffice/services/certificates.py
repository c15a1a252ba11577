"""Paper procedure on client certificates: 電子証明書の失効, when a PC was disposed of without revoking it
(R-F3). The master's certificate issuance is among the master's procedures (masters.py)."""

from __future__ import annotations

import dataclasses

from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.details import person, row, when
from corpbank.backoffice.services.paper import PaperProcedure, contract_of, enter, invalid
from corpbank.certificates import services as certificates
from corpbank.certificates.models import ClientCertificate
from corpbank.core import audit, text
from corpbank.core.errors import Conflict
from corpbank.organizations.models import CustomerUser


@dataclasses.dataclass(frozen=True)
class CertificateRevocation:
    contract_id: int
    login_id: str


class RevokeCertificate(PaperProcedure[CertificateRevocation]):
    """電子証明書の失効 on paper (R-F3)."""

    kind = "revoke_certificate"

    def check(self, request: CertificateRevocation) -> engine.Entry:
        contract = contract_of(request.contract_id)
        login_id = text.login_id(request.login_id)
        user = CustomerUser.objects.filter(contract=contract, login_id=login_id).first()
        if user is None or not ClientCertificate.objects.filter(user=user, status="active").exists():
            raise invalid({"login_id": _("有効な電子証明書をお持ちの利用者が見つかりません。")})
        return engine.Entry(contract=contract, payload={"user_id": user.pk})

    def summary(self, request: CertificateRevocation, entry: engine.Entry) -> str:
        login_id = text.half_width(request.login_id)
        return _("電子証明書の失効（ログインID %(login_id)s）") % {"login_id": login_id}

    def details(self, action: PendingAction) -> list[engine.Detail]:
        user = CustomerUser.objects.filter(pk=action.payload["user_id"], contract=action.contract_id).first()
        certificate = certificates.active_certificate(user) if user else None
        return [
            row("user", _("利用者"), person(user)),
            row(
                "certificate",
                _("電子証明書"),
                _("シリアル番号 %(serial)s（有効期限 %(until)s）")
                % {"serial": certificate.serial_number, "until": when(certificate.not_after)}
                if certificate
                else _("（有効な電子証明書はありません）"),
            ),
            row("status", _("状態"), _("失効"), before=_("有効") if certificate else None),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        user = CustomerUser.objects.get(pk=action.payload["user_id"], contract=contract)
        certificate = certificates.active_certificate(user)
        if certificate is None:
            raise Conflict(_("この利用者には有効な電子証明書がありません。"))
        certificates.revoke(certificate, actor=actor, reason=f"paper procedure #{action.pk}")


REVOKE_CERTIFICATE = engine.register(RevokeCertificate())


def enter_certificate_revocation(
    operator: Operator, contract_id: int, login_id: str, *, ip_address: str = ""
) -> PendingAction:
    """電子証明書の失効 on paper, when a PC was disposed of without revoking it (R-F3)."""
    return enter(
        REVOKE_CERTIFICATE, operator, CertificateRevocation(contract_id, login_id), ip_address=ip_address
    )
