"""The bank's back office: operators enter paper procedures and a second operator approves them
(R-A1, R-B4, R-B7, R-B8, R-C3, R-F5); the audit search (R-I3)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from corpbank.approvals import selectors as approval_selectors
from corpbank.approvals.models import PendingAction
from corpbank.backoffice import selectors as backoffice_selectors
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import AccountInput, ContractApplication
from corpbank.core.errors import DomainError, NotFound, ValidationFailed
from corpbank.identity.models import CONTRACT_PIN_KINDS, SecretKind
from corpbank.organizations.models import Branch, Contract, CustomerUser
from corpbank.tokens import pskc_import
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenFee
from corpbank.web import sessions
from corpbank.web.pages import Field, form_page, limit_fields, limits_from, operator_required, posted, secret


def _operator(request: HttpRequest) -> Operator:
    return request.operator  # type: ignore[attr-defined,no-any-return]


def login(request: HttpRequest) -> HttpResponse:
    fields = [
        Field("login_name", _("職員ログイン名"), autocomplete="username", maxlength=30),
        secret("password", _("パスワード"), autocomplete="current-password"),
    ]
    error = None
    if request.method == "POST":
        data = posted(request, "login_name", "password")
        try:
            operator = backoffice.operator_log_in(**data, ip_address=sessions.client_ip(request))
        except DomainError as failure:
            error = failure
        else:
            sessions.start_operator_session(request, operator)
            return redirect("backoffice:home")
    return form_page(
        request,
        title=_("事務センター ログイン"),
        fields=fields,
        submit_label=_("ログイン"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    sessions.end_session(request)
    return redirect("backoffice:login")


@operator_required
def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    return render(
        request,
        "corpbank/backoffice/home.html",
        {
            "title": _("事務センター"),
            "pending": approval_selectors.pending_actions(),
            "contracts": backoffice_selectors.contracts(query)[:100],
            "query": query,
        },
    )


def _accounts_from(text: str) -> list[AccountInput]:
    """One account a line: 店番 科目 口座番号, e.g. ``101 1 1234567`` (科目: 1 普通, 2 当座)."""
    accounts = []
    for line in text.splitlines():
        parts = line.replace("-", " ").split()
        if not parts:
            continue
        if len(parts) != 3:
            raise ValidationFailed(
                _("入力内容をご確認ください。"),
                fields={"accounts": _("口座は1行に「店番 科目 口座番号」の形で入力してください。")},
            )
        accounts.append(AccountInput(*parts))
    return accounts


def _pin_fields() -> list[Field]:
    return [secret(str(kind), SecretKind(kind).label, _("数字4桁")) for kind in CONTRACT_PIN_KINDS]


@operator_required
def contract_new(request: HttpRequest) -> HttpResponse:
    """契約の新規登録 from the paper application; takes effect on a second operator's approval."""
    branches = [(b.code, str(b)) for b in Branch.objects.all()]
    fields = [
        Field("organization_name", _("団体名"), maxlength=120),
        Field("organization_name_kana", _("団体名（半角カナ）"), hint=_("例: ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ"), maxlength=120),
        Field("branch_code", _("お取引店"), "select", choices=branches),
        Field("master_name", _("マスターユーザ名"), maxlength=60),
        Field(
            "notification_email",
            _("連絡先メールアドレス"),
            hint=_("金庫からのお知らせの送付先"),
            maxlength=254,
        ),
        Field(
            "login_method",
            _("ログイン方式"),
            "select",
            choices=[
                (value, label)
                for value, label in Contract.LoginMethod.choices
                if value in settings.CORPBANK_LOGIN_METHODS
            ],
        ),
        Field(
            "accounts",
            _("口座（1行に「店番 科目 口座番号」、科目 1=普通 2=当座）"),
            hint=_("例: 101 1 1234567"),
        ),
        Field(
            "otp_required",
            _("ワンタイムパスワード"),
            "checkboxes",
            choices=[("1", _("ワンタイムパスワードを利用する"))],
            value=["1"],
        ),
        *_pin_fields(),
        *limit_fields([]),
    ]
    error = None
    if request.method == "POST":
        data = posted(
            request,
            "organization_name",
            "organization_name_kana",
            "branch_code",
            "master_name",
            "login_method",
            "accounts",
        )
        try:
            limits = {limit.kind: (limit.per_transaction, limit.per_day) for limit in limits_from(request)}
            action = backoffice.enter_contract_registration(
                _operator(request),
                ContractApplication(
                    organization_name=data["organization_name"],
                    organization_name_kana=data["organization_name_kana"],
                    branch_code=data["branch_code"],
                    master_name=data["master_name"],
                    accounts=_accounts_from(data["accounts"]),
                    login_method=data["login_method"],
                    pins={str(kind): request.POST.get(str(kind), "") for kind in CONTRACT_PIN_KINDS},
                    limits=limits,
                    otp_required=request.POST.get("otp_required") == "1",
                    notification_email=request.POST.get("notification_email", ""),
                ),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as failure:
            error = failure
        else:
            messages.success(
                request,
                _("受付番号 %(id)s で登録しました。別の職員の承認で有効になります。") % {"id": action.pk},
            )
            return redirect("backoffice:home")
    return form_page(
        request,
        title=_("契約の新規登録"),
        lead=_("申込書の内容を入力してください。"),
        fields=fields,
        submit_label=_("登録する（承認待ち）"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


def _contract_or_404(contract_id: int) -> Contract:
    contract = Contract.objects.select_related("organization", "branch").filter(pk=contract_id).first()
    if contract is None:
        raise NotFound(_("契約が見つかりません。"))
    return contract


@operator_required
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    try:
        contract = _contract_or_404(contract_id)
    except DomainError as error:
        return render(
            request,
            "corpbank/backoffice/message.html",
            {"title": _("契約"), "message": error.message},
            status=error.http_status,
        )
    master = (
        CustomerUser.objects.filter(contract=contract, role="master")
        .exclude(status="deleted")
        .select_related("principal")
        .first()
    )
    return render(
        request,
        "corpbank/backoffice/contract.html",
        {
            "title": _("契約 %(number)s") % {"number": contract.number},
            "contract": contract,
            "master": master,
            "now": timezone.now(),
            "users": contract.users.exclude(status="deleted")
            .select_related("principal")
            .order_by("role", "login_id"),
            "accounts": contract.accounts.select_related("branch"),
            "tokens": contract.tokens.filter(type=Token.Type.HARDWARE).order_by("serial"),
            "software_tokens": SoftwareTokenEnrolment.objects.filter(token__contract=contract)
            .select_related("user")
            .order_by("-issued_at"),
            "history": contract.pending_actions.select_related("entered_by", "decided_by").order_by(
                "-entered_at"
            )[:20],
        },
    )


@require_POST
@operator_required
def contract_enter(request: HttpRequest, contract_id: int, procedure: str) -> HttpResponse:
    """Enter one of the contract's paper procedures; a second operator approves it."""
    try:
        backoffice.enter_procedure(
            _operator(request),
            contract_id,
            procedure,
            reason=request.POST.get("reason", ""),
            token_user_id=request.POST.get("token_user_id", ""),
            login_id=request.POST.get("login_id", ""),
            ip_address=sessions.client_ip(request),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("手続を受け付けました。別の職員の承認で有効になります。"))
    return redirect("backoffice:contract", contract_id=contract_id)


def _procedure_form(
    request: HttpRequest,
    contract_id: int,
    *,
    title: str,
    fields: list[Field],
    enter: Callable[[Operator, str], PendingAction],
) -> HttpResponse:
    """A contract procedure entered on a form; a second operator approves it."""
    error = None
    if request.method == "POST":
        try:
            enter(_operator(request), sessions.client_ip(request))
        except DomainError as failure:
            error = failure
        else:
            messages.success(request, _("手続を受け付けました。別の職員の承認で有効になります。"))
            return redirect("backoffice:contract", contract_id=contract_id)
    return form_page(
        request,
        title=title,
        fields=fields,
        submit_label=_("登録する（承認待ち）"),
        error=error,
        template="corpbank/backoffice/form.html",
    )


@operator_required
def contract_pins(request: HttpRequest, contract_id: int) -> HttpResponse:
    """暗証番号変更 (R-B4): only the PINs typed are replaced."""
    fields = _pin_fields()
    for field in fields:
        field.hint = _("変更する暗証番号のみ、数字4桁で入力してください。")
    return _procedure_form(
        request,
        contract_id,
        title=_("暗証番号の変更"),
        fields=fields,
        enter=lambda operator, ip_address: backoffice.enter_pin_change(
            operator,
            contract_id,
            {str(kind): request.POST.get(str(kind), "") for kind in CONTRACT_PIN_KINDS},
            ip_address=ip_address,
        ),
    )


@operator_required
def contract_tokens(request: HttpRequest, contract_id: int) -> HttpResponse:
    """パスワード生成機の発送: serial numbers from the stock, with the kind of issue and so its fee (R-E1,
    R-E3, R-E5)."""
    fields = [
        Field("serials", _("シリアル番号（複数の場合は空白または改行で区切る）"), maxlength=2000),
        Field(
            "fee_reason",
            _("発行区分"),
            "select",
            choices=[("", _("初回発行（無料）")), *TokenFee.Reason.choices],
        ),
    ]
    return _procedure_form(
        request,
        contract_id,
        title=_("パスワード生成機の発送"),
        fields=fields,
        enter=lambda operator, ip_address: backoffice.enter_token_shipment(
            operator,
            contract_id,
            request.POST.get("serials", "").split(),
            fee_reason=request.POST.get("fee_reason", ""),
            ip_address=ip_address,
        ),
    )


@operator_required
def token_stock(request: HttpRequest) -> HttpResponse:
    """パスワード生成機の在庫: import the manufacturer's PSKC file (RFC 6030), all or nothing. One operator:
    stock gives nobody access; shipping it to an organization is four-eyes."""
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationFailed(
                    _("入力内容をご確認ください。"), fields={"file": _("PSKCファイルを選択してください。")}
                )
            stocked = pskc_import.import_stock(
                upload,
                actor=backoffice.operator_actor(_operator(request), sessions.client_ip(request)),
                preshared_key=pskc_import.key_from_hex(request.POST.get("key_hex", "")),
                password=request.POST.get("password") or None,
                file_name=upload.name or "",
            )
        except DomainError as failure:
            error = failure
        else:
            messages.success(
                request,
                _("%(count)d台のパスワード生成機を在庫に登録しました: %(serials)s")
                % {"count": len(stocked), "serials": ", ".join(token.serial for token in stocked)},
            )
            return redirect("backoffice:token_stock")
    return render(
        request,
        "corpbank/backoffice/token_stock.html",
        {
            "title": _("パスワード生成機の在庫"),
            "error": error.message if error else "",
            "field_errors": error.fields if error else {},
            "counts": token_selectors.hardware_token_counts(),
            "in_stock": Token.objects.filter(type=Token.Type.HARDWARE, state=Token.State.IN_STOCK).order_by(
                "expires_on", "serial"
            )[:200],
        },
        status=error.http_status if error else 200,
    )


@require_POST
@operator_required
def token_lost(request: HttpRequest, serial: str) -> HttpResponse:
    """紛失の届出: the token is disabled at once and for ever (R-E6)."""
    try:
        token = tokens.report_lost(
            serial=serial, actor=backoffice.operator_actor(_operator(request), sessions.client_ip(request))
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("backoffice:home")
    messages.success(
        request, _("パスワード生成機 %(serial)s を利用できないようにしました。") % {"serial": token.serial}
    )
    return redirect("backoffice:contract", contract_id=token.contract_id)


@require_POST
@operator_required
def action_approve(request: HttpRequest, action_id: int) -> HttpResponse:
    try:
        decision = backoffice.approve(_operator(request), action_id, ip_address=sessions.client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("backoffice:home")
    if decision.letter is not None:
        # Shown once: the initial password exists nowhere else in clear (R-B5, R-B7).
        response = render(
            request,
            "corpbank/backoffice/letter.html",
            {"title": _("初期パスワードのご案内"), "letter": decision.letter},
        )
        response["Cache-Control"] = "no-store"
        return response
    messages.success(request, _("承認しました。"))
    return redirect("backoffice:home")


@require_POST
@operator_required
def action_reject(request: HttpRequest, action_id: int) -> HttpResponse:
    try:
        backoffice.reject(_operator(request), action_id, ip_address=sessions.client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("却下しました。"))
    return redirect("backoffice:home")


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@operator_required
def audit(request: HttpRequest) -> HttpResponse:
    criteria = {
        key: request.GET.get(key, "").strip()
        for key in ("action", "contract_number", "login_id", "date_from", "date_to")
    }
    events = backoffice_selectors.search_audit(
        action=criteria["action"],
        contract_number=criteria["contract_number"],
        login_id=criteria["login_id"],
        date_from=_date(criteria["date_from"]),
        date_to=_date(criteria["date_to"]),
    )
    return render(
        request,
        "corpbank/backoffice/audit.html",
        {"title": _("監査ログ検索"), "events": events, "criteria": criteria},
    )
