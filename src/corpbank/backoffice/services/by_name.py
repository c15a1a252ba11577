"""The contract procedures entered by their name in the back office's URLs."""

from __future__ import annotations

from django.utils.translation import gettext as _

from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.cancellation import enter_contract_termination
from corpbank.backoffice.services.certificates import enter_certificate_revocation
from corpbank.backoffice.services.contracts import (
    enter_emergency_stop,
    enter_emergency_stop_lift,
    enter_otp_application,
)
from corpbank.backoffice.services.masters import (
    enter_master_certificate_issuance,
    enter_master_initialization,
    enter_master_lock_lift,
    enter_master_questions_reset,
    enter_master_token_lock_lift,
)
from corpbank.backoffice.services.tokens import enter_software_token_application, enter_software_token_end
from corpbank.core.errors import NotFound


def enter_procedure(
    operator: Operator,
    contract_id: int,
    procedure: str,
    *,
    reason: str = "",
    token_user_id: str = "",
    login_id: str = "",
    ip_address: str = "",
) -> PendingAction:
    """Enter a contract procedure by its name in URLs: start-otp, start-software-tokens,
    initialize-master, lift-master-lock, lift-master-token-lock, reset-master-questions,
    enable-master-certificate, revoke-certificate (with the user's login ID), emergency-stop and
    terminate (解約) (with a reason), lift-emergency-stop, stop-software-token or
    cancel-software-token (with the token's user ID)."""
    if procedure == "emergency-stop":
        return enter_emergency_stop(operator, contract_id, reason=reason, ip_address=ip_address)
    if procedure == "terminate":
        return enter_contract_termination(operator, contract_id, reason=reason, ip_address=ip_address)
    if procedure == "revoke-certificate":
        return enter_certificate_revocation(operator, contract_id, login_id, ip_address=ip_address)
    if procedure in ("stop-software-token", "cancel-software-token"):
        return enter_software_token_end(
            operator,
            contract_id,
            token_user_id,
            cancel=procedure == "cancel-software-token",
            ip_address=ip_address,
        )
    simple = {
        "start-otp": enter_otp_application,
        "start-software-tokens": enter_software_token_application,
        "initialize-master": enter_master_initialization,
        "lift-master-lock": enter_master_lock_lift,
        "lift-master-token-lock": enter_master_token_lock_lift,
        "reset-master-questions": enter_master_questions_reset,
        "enable-master-certificate": enter_master_certificate_issuance,
        "lift-emergency-stop": enter_emergency_stop_lift,
    }
    if procedure not in simple:
        raise NotFound(_("不明な手続です。"))
    return simple[procedure](operator, contract_id, ip_address=ip_address)
