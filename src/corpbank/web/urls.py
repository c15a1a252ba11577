from django.urls import include, path
from django.views.i18n import set_language

from corpbank.web import (
    authentication,
    backoffice,
    backoffice_operators,
    certificates,
    home,
    organizations,
    payments,
    tokens,
    transfers,
)

backoffice_patterns = [
    path("login", backoffice_operators.login, name="login"),
    path("login/password", backoffice_operators.initial_password, name="initial_password"),
    path("login/second-factor", backoffice_operators.second_factor, name="second_factor"),
    path("password", backoffice_operators.password, name="password"),
    path("logout", backoffice_operators.logout, name="logout"),
    path("language", set_language, name="set_language"),
    path("operators", backoffice_operators.operators, name="operators"),
    path("operators/new", backoffice_operators.operator_new, name="operator_new"),
    path("operators/<int:operator_id>/<slug:act>", backoffice_operators.operator_act, name="operator_act"),
    path("", backoffice.home, name="home"),
    path("contracts/new", backoffice.contract_new, name="contract_new"),
    path("contracts/<int:contract_id>", backoffice.contract_detail, name="contract"),
    path("contracts/<int:contract_id>/pins", backoffice.contract_pins, name="pins"),
    path("contracts/<int:contract_id>/tokens", backoffice.contract_tokens, name="tokens"),
    path("tokens/stock", backoffice.token_stock, name="token_stock"),
    path("tokens/<str:serial>/lost", backoffice.token_lost, name="token_lost"),
    path("contracts/<int:contract_id>/<slug:procedure>", backoffice.contract_enter, name="enter"),
    path("actions/<int:action_id>", backoffice.action_detail, name="action"),
    path("actions/<int:action_id>/approve", backoffice.action_approve, name="approve"),
    path("actions/<int:action_id>/reject", backoffice.action_reject, name="reject"),
    path("actions/<int:action_id>/password-half", backoffice_operators.password_half, name="password_half"),
    path("audit", backoffice.audit, name="audit"),
]

urlpatterns = [
    path("", home.home, name="home"),
    # authentication
    path("login", authentication.login, name="login"),
    path("logout", authentication.logout, name="logout"),
    path("register", authentication.register, name="register"),
    path("login/additional", authentication.additional_auth, name="additional_auth"),
    path("settings/questions", authentication.secret_questions, name="secret_questions"),
    path("settings/password", authentication.password, name="password"),
    path("settings/login-history", authentication.login_history, name="login_history"),
    # payments: 明細照会 (R-G1)
    path("inquiry/pin", payments.inquiry_pin, name="inquiry_pin"),
    path("inquiry/balances", payments.balances, name="balances"),
    path("inquiry/accounts/<int:account_id>", payments.history, name="history"),
    path("inquiry/accounts/<int:account_id>/csv", payments.history_csv, name="history_csv"),
    # payments: 振込振替 and 振込先管理 (R-G2, R-G4)
    path("transfers", transfers.transfer_list, name="transfers"),
    path("transfers/new", transfers.transfer_new, name="transfer_new"),
    path("transfers/confirm/<str:token>", transfers.transfer_confirm, name="transfer_confirm"),
    path("transfers/<int:transfer_id>", transfers.transfer_detail, name="transfer_detail"),
    path("transfers/<int:transfer_id>/cancel", transfers.transfer_cancel, name="transfer_cancel"),
    path("payees", transfers.payee_list, name="payees"),
    path("payees/new", transfers.payee_new, name="payee_new"),
    path("payees/<int:payee_id>/change", transfers.payee_new, name="payee_change"),
    path("payees/confirm/<str:token>", transfers.payee_confirm, name="payee_confirm"),
    path("payees/<int:payee_id>/delete", transfers.payee_delete, name="payee_delete"),
    path("payees/banks", transfers.bank_search, name="bank_search"),
    # organizations: 管理 ≫ 利用者管理
    path("admin/users", organizations.user_list, name="users"),
    path("admin/users/new", organizations.user_add, name="user_add"),
    path("admin/users/<int:user_id>", organizations.user_change, name="user_change"),
    path("admin/users/<int:user_id>/reset", organizations.user_reset, name="user_reset"),
    path("admin/users/<int:user_id>/unlock", organizations.user_unlock, name="user_unlock"),
    path(
        "admin/users/<int:user_id>/questions-reset",
        organizations.user_questions_reset,
        name="user_questions_reset",
    ),
    path("admin/users/<int:user_id>/delete", organizations.user_delete, name="user_delete"),
    # tokens
    path("settings/otp/register", tokens.token_registration, name="token_registration"),
    path("otp", tokens.otp_application, name="otp_application"),
    path("otp/issue", tokens.softtoken_issue, name="softtoken_issue"),
    path("otp/issue/confirm", tokens.softtoken_issue_confirm, name="softtoken_issue_confirm"),
    path("otp/issue/done", tokens.softtoken_issued, name="softtoken_issued"),
    path("otp/activate", tokens.softtoken_activate, name="softtoken_activate"),
    path("softtoken/", tokens.softtoken_setup, name="softtoken_setup"),
    path("admin/otp", tokens.otp_management, name="otp_management"),
    path("admin/otp/<int:user_id>/revoke", tokens.otp_revoke, name="otp_revoke"),
    path("admin/otp/<int:user_id>/unlock", tokens.otp_unlock, name="otp_unlock"),
    # certificates
    path("ca/certificate.pem", certificates.ca_certificate, name="ca_certificate"),
    path("ca/crl", certificates.ca_crl, name="ca_crl"),
    path("certificate/error", certificates.certificate_error, name="certificate_error"),
    path("certificate/obtain", certificates.certificate_obtain, name="certificate_obtain"),
    path(
        "certificate/obtain/verify", certificates.certificate_obtain_verify, name="certificate_obtain_verify"
    ),
    path("settings/certificate/renew", certificates.certificate_renew, name="certificate_renew"),
    path("admin/certificates", certificates.certificate_management, name="certificate_management"),
    path(
        "admin/certificates/<int:user_id>/enable",
        certificates.certificate_enable,
        name="certificate_enable",
    ),
    path(
        "admin/certificates/<int:user_id>/revoke",
        certificates.certificate_revoke,
        name="certificate_revoke",
    ),
    path("backoffice/", include((backoffice_patterns, "backoffice"))),
]
