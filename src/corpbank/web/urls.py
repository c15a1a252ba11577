from django.urls import include, path

from corpbank.web import backoffice, ca, customer, master, softtoken

backoffice_patterns = [
    path("login", backoffice.login, name="login"),
    path("logout", backoffice.logout, name="logout"),
    path("", backoffice.home, name="home"),
    path("contracts/new", backoffice.contract_new, name="contract_new"),
    path("contracts/<int:contract_id>", backoffice.contract_detail, name="contract"),
    path("contracts/<int:contract_id>/pins", backoffice.contract_pins, name="pins"),
    path("contracts/<int:contract_id>/tokens", backoffice.contract_tokens, name="tokens"),
    path("tokens/stock", backoffice.token_stock, name="token_stock"),
    path("tokens/<str:serial>/lost", backoffice.token_lost, name="token_lost"),
    path("contracts/<int:contract_id>/<slug:procedure>", backoffice.contract_enter, name="enter"),
    path("actions/<int:action_id>/approve", backoffice.action_approve, name="approve"),
    path("actions/<int:action_id>/reject", backoffice.action_reject, name="reject"),
    path("audit", backoffice.audit, name="audit"),
]

urlpatterns = [
    path("", customer.home, name="home"),
    path("login", customer.login, name="login"),
    path("logout", customer.logout, name="logout"),
    path("register", customer.register, name="register"),
    path("login/additional", customer.additional_auth, name="additional_auth"),
    path("settings/questions", customer.secret_questions, name="secret_questions"),
    path("settings/password", customer.password, name="password"),
    path("settings/login-history", customer.login_history, name="login_history"),
    path("settings/otp/register", customer.token_registration, name="token_registration"),
    path("otp", softtoken.menu, name="otp_application"),
    path("otp/issue", softtoken.issue, name="softtoken_issue"),
    path("otp/issue/confirm", softtoken.issue_confirm, name="softtoken_issue_confirm"),
    path("otp/issue/done", softtoken.issued, name="softtoken_issued"),
    path("otp/activate", softtoken.activate, name="softtoken_activate"),
    path("softtoken/", softtoken.setup, name="softtoken_setup"),
    path("ca/certificate.pem", ca.certificate, name="ca_certificate"),
    path("ca/crl", ca.crl, name="ca_crl"),
    path("certificate/error", ca.certificate_error, name="certificate_error"),
    path("admin/users", master.user_list, name="users"),
    path("admin/users/new", master.user_add, name="user_add"),
    path("admin/users/<int:user_id>", master.user_change, name="user_change"),
    path("admin/users/<int:user_id>/reset", master.user_reset, name="user_reset"),
    path("admin/users/<int:user_id>/unlock", master.user_unlock, name="user_unlock"),
    path(
        "admin/users/<int:user_id>/questions-reset", master.user_questions_reset, name="user_questions_reset"
    ),
    path("admin/users/<int:user_id>/delete", master.user_delete, name="user_delete"),
    path("admin/otp", master.otp_management, name="otp_management"),
    path("admin/certificates", master.certificate_management, name="certificate_management"),
    path("admin/certificates/<int:user_id>/enable", master.certificate_enable, name="certificate_enable"),
    path("admin/certificates/<int:user_id>/revoke", master.certificate_revoke, name="certificate_revoke"),
    path("certificate/obtain", customer.certificate_obtain, name="certificate_obtain"),
    path("settings/certificate/renew", customer.certificate_renew, name="certificate_renew"),
    path("admin/otp/<int:user_id>/revoke", master.otp_revoke, name="otp_revoke"),
    path("admin/otp/<int:user_id>/unlock", master.otp_unlock, name="otp_unlock"),
    path("backoffice/", include((backoffice_patterns, "backoffice"))),
]
