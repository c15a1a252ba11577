"""The bank's back office: operators, and the paper procedures (書面手続) they carry out (R-A1, R-B4,
R-B7, R-B8, R-C3, R-F5).

Every act that changes a customer's credentials or status is *entered* by one operator and takes
effect only when a *second* operator approves it (four-eyes), on the approval engine
(corpbank.approvals.engine): each procedure is declared in the module of its subject and registered
with the engine when this package is imported. Secrets entered (PINs) are hashed at entry; an initial
password is generated at approval and shown once, on the letter, never stored in clear.

- operators.py: operator accounts, roles and login (password, then the authenticator app's code), and
  the rule that another operator, an approver, decides;
- operator_procedures.py: 職員管理, four-eyes among administrators (another administrator, not the
  operator concerned, decides);
- paper.py: what the paper procedures share (approve, reject, withdraw, the letter);
- contracts.py, accounts.py (口座の追加), masters.py, tokens.py, certificates.py, cancellation.py (解約):
  the procedures, by subject;
- cash.py (窓口入金・出金) and transfers.py (the fee table, the search of transfers, the interbank file);
- by_name.py: the procedures entered by their name in URLs."""

from corpbank.backoffice.services.accounts import enter_account_opening
from corpbank.backoffice.services.by_name import enter_procedure
from corpbank.backoffice.services.cancellation import enter_contract_termination
from corpbank.backoffice.services.certificates import enter_certificate_revocation
from corpbank.backoffice.services.contracts import (
    DEFAULT_CONTRACT_LIMITS,
    AccountInput,
    ContractApplication,
    application_problems,
    enter_contract_registration,
    enter_emergency_stop,
    enter_emergency_stop_lift,
    enter_otp_application,
    enter_pin_change,
)
from corpbank.backoffice.services.masters import (
    enter_master_certificate_issuance,
    enter_master_initialization,
    enter_master_lock_lift,
    enter_master_questions_reset,
    enter_master_token_lock_lift,
)
from corpbank.backoffice.services.operator_procedures import (
    OPERATOR_PROCEDURE_KINDS,
    OperatorLetter,
    enter_operator_procedure,
    enter_operator_registration,
    enter_role_change,
    show_first_half,
)
from corpbank.backoffice.services.operators import (
    LoginStep,
    OperatorSuspended,
    PasswordChangeRequired,
    SecondFactorEnrolmentRequired,
    SecondFactorRequired,
    change_password,
    change_password_at_login,
    change_password_before_login,
    check_password,
    check_second_factor,
    create_operator,
    has_second_factor,
    install_second_factor,
    login_name_of,
    next_login_step,
    operator_actor,
    operator_log_in,
    password_change_due,
    password_is_initial,
    provisioning,
    require_administrator,
    require_approver,
    require_entrant,
    rotate_seed_keys,
    start_enrolment,
)
from corpbank.backoffice.services.paper import Decision, InitialPasswordLetter, approve, reject, withdraw
from corpbank.backoffice.services.tokens import (
    enter_software_token_application,
    enter_software_token_end,
    enter_token_shipment,
)

__all__ = [
    "DEFAULT_CONTRACT_LIMITS",
    "OPERATOR_PROCEDURE_KINDS",
    "AccountInput",
    "ContractApplication",
    "Decision",
    "InitialPasswordLetter",
    "LoginStep",
    "OperatorLetter",
    "OperatorSuspended",
    "PasswordChangeRequired",
    "SecondFactorEnrolmentRequired",
    "SecondFactorRequired",
    "application_problems",
    "approve",
    "change_password",
    "change_password_at_login",
    "change_password_before_login",
    "check_password",
    "check_second_factor",
    "create_operator",
    "enter_account_opening",
    "enter_certificate_revocation",
    "enter_contract_registration",
    "enter_contract_termination",
    "enter_emergency_stop",
    "enter_emergency_stop_lift",
    "enter_master_certificate_issuance",
    "enter_master_initialization",
    "enter_master_lock_lift",
    "enter_master_questions_reset",
    "enter_master_token_lock_lift",
    "enter_operator_procedure",
    "enter_operator_registration",
    "enter_otp_application",
    "enter_pin_change",
    "enter_procedure",
    "enter_role_change",
    "enter_software_token_application",
    "enter_software_token_end",
    "enter_token_shipment",
    "has_second_factor",
    "install_second_factor",
    "login_name_of",
    "next_login_step",
    "operator_actor",
    "operator_log_in",
    "password_change_due",
    "password_is_initial",
    "provisioning",
    "reject",
    "require_administrator",
    "require_approver",
    "require_entrant",
    "rotate_seed_keys",
    "show_first_half",
    "start_enrolment",
    "withdraw",
]
