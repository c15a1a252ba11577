"""The bank's back office: operators enter paper procedures and a second operator approves them
(R-A1, R-B4, R-B7, R-B8, R-C3, R-F5); the audit search (R-I3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from corpbank.approvals import selectors as approval_selectors
from corpbank.approvals.models import PendingAction
from corpbank.backoffice import selectors as backoffice_selectors
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import DEFAULT_CONTRACT_LIMITS, AccountInput, ContractApplication
from corpbank.backoffice.services.details import ApprovalNotConfirmed
from corpbank.core import audit_labels
from corpbank.core.errors import DomainError, NotFound, ValidationFailed
from corpbank.core.models import AuditEvent
from corpbank.core.text import half_width, is_digits
from corpbank.identity.models import CONTRACT_PIN_KINDS, SecretKind
from corpbank.organizations.models import Account, Branch, Contract, CustomerUser, UsageLimit
from corpbank.tokens import pskc_import
from corpbank.tokens import selectors as token_selectors
from corpbank.tokens import services as tokens
from corpbank.tokens.models import SoftwareTokenEnrolment, Token, TokenFee
from corpbank.web import sessions
from corpbank.web.backoffice_operators import decider_required, entrant_required, operator_letter_page
from corpbank.web.pages import (
    Field,
    form_page,
    in_one_line,
    limits_from,
    operator_required,
    posted,
    secret,
)


def _operator(request: HttpRequest) -> Operator:
    return request.operator  # type: ignore[attr-defined,no-any-return]


@operator_required
def home(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    # An administrator's queue holds the operators' procedures; a clerk's or an approver's the others.
    pending = approval_selectors.pending_actions()
    if _operator(request).administers:
        pending = pending.filter(kind__in=backoffice.OPERATOR_PROCEDURE_KINDS)
    else:
        pending = pending.exclude(kind__in=backoffice.OPERATOR_PROCEDURE_KINDS)
    return render(
        request,
        "corpbank/backoffice/home.html",
        {
            "title": _("事務センター"),
            "pending": pending,
            "contracts": backoffice_selectors.contracts(query)[:100],
            "query": query,
        },
    )


# The new-contract form starts with this many account rows; 口座の入力行を追加 adds one, up to the most.
ACCOUNT_ROWS = 3
MAX_ACCOUNT_ROWS = 30
# ワンタイムパスワード on the new-contract form: by hardware tokens, by software tokens, or not at all.
OTP_USES = ("hardware", "software", "none")


@dataclasses.dataclass
class AccountRow:
    """One row of the new-contract form's accounts: 店番, 科目, 口座番号, and its error."""

    index: int
    branch_code: str = ""
    type: str = Account.Type.ORDINARY
    number: str = ""
    error: str = ""

    @property
    def number_shown(self) -> int:
        return self.index + 1


def _account_rows(request: HttpRequest) -> list[AccountRow]:
    """The account rows as typed; one more if 口座の入力行を追加 was pressed."""
    if request.method != "POST":
        return [AccountRow(index) for index in range(ACCOUNT_ROWS)]
    count = request.POST.get("account_rows", "")[:3]
    # is_digits, not str.isdigit: int() refuses "²", which isdigit takes (a 500).
    rows = min(max(int(count), 1), MAX_ACCOUNT_ROWS) if count and is_digits(count) else ACCOUNT_ROWS
    if request.POST.get("add_account") and rows < MAX_ACCOUNT_ROWS:
        rows += 1
    return [
        AccountRow(
            index,
            branch_code=half_width(request.POST.get(f"account_{index}_branch", "")),
            type=request.POST.get(f"account_{index}_type", Account.Type.ORDINARY),
            # 1234-567 and １２３４５６７ are the account 1234567.
            number=half_width(request.POST.get(f"account_{index}_number", "")).replace("-", ""),
        )
        for index in range(rows)
    ]


def _pin_fields() -> list[Field]:
    return [secret(str(kind), SecretKind(kind).label, _("数字4桁")) for kind in CONTRACT_PIN_KINDS]


@entrant_required
def contract_new(request: HttpRequest) -> HttpResponse:
    """契約の新規登録 from the paper application: the organization, its master, how it logs in and uses
    one-time passwords, its accounts (a row each), its PINs and limits. The entry takes effect on a
    second operator's approval, who sees all of it (action_detail)."""
    branches = [(b.code, str(b)) for b in Branch.objects.all()]
    organization = [
        Field("organization_name", _("団体名"), maxlength=120),
        Field(
            "organization_name_kana",
            _("団体名（カナ）"),
            hint=_("全角・半角どちらでも入力できます。半角カナで登録します（例: ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ）。"),
            maxlength=120,
        ),
        Field("branch_code", _("お取引店"), "select", choices=branches),
        Field(
            "notification_email",
            _("連絡先メールアドレス"),
            hint=_("金庫からのお知らせの送付先"),
            maxlength=254,
        ),
    ]
    master = [Field("master_name", _("マスターユーザ名"), maxlength=60)]
    use = [
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
            "otp_use",
            _("ワンタイムパスワード"),
            "select",
            choices=[
                ("hardware", _("利用する（パスワード生成機）")),
                ("software", _("利用する（ソフトウェアトークン）")),
                ("none", _("利用しない")),
            ],
            value="hardware",
        ),
    ]
    pins = _pin_fields()
    limit_rows = [
        (
            label,
            Field(f"limit_{kind}", label, value=f"{DEFAULT_CONTRACT_LIMITS[kind][0]:,}"),
            Field(f"limit_{kind}_per_day", label, value=f"{DEFAULT_CONTRACT_LIMITS[kind][1]:,}"),
        )
        for kind, label in UsageLimit.Kind.choices
    ]
    fields = [*organization, *master, *use, *pins, *(f for _, *pair in limit_rows for f in pair)]
    accounts = _account_rows(request)
    typed = [row for row in accounts if row.number]
    error = None
    if request.method == "POST" and not request.POST.get("add_account"):
        data = posted(
            request,
            "organization_name",
            "organization_name_kana",
            "branch_code",
            "master_name",
            "login_method",
            "otp_use",
            "notification_email",
        )
        try:
            # What the screen itself reads (the OTP use, the limits) is told with the entry's own
            # problems, every field at once, rather than one group per try.
            own: dict[str, str] = {}
            otp_use = data["otp_use"] or "none"  # as an unticked box used to say
            if otp_use not in OTP_USES:
                own["otp_use"] = _("ワンタイムパスワードの利用方法を選択してください。")
            try:
                limits = {
                    limit.kind: (limit.per_transaction, limit.per_day) for limit in limits_from(request)
                }
            except ValidationFailed as refused:
                limits, own = {}, {**own, **refused.fields}
            application = ContractApplication(
                organization_name=data["organization_name"],
                organization_name_kana=data["organization_name_kana"],
                branch_code=data["branch_code"],
                master_name=data["master_name"],
                accounts=[AccountInput(row.branch_code, row.type, row.number) for row in typed],
                login_method=data["login_method"],
                pins={str(kind): request.POST.get(str(kind), "") for kind in CONTRACT_PIN_KINDS},
                limits=limits,
                otp_required=otp_use in ("hardware", "software"),
                software_tokens=otp_use == "software",
                notification_email=data["notification_email"],
            )
            if own:
                raise ValidationFailed(
                    _("入力内容をご確認ください。"),
                    fields={**backoffice.application_problems(application), **own},
                )
            action = backoffice.enter_contract_registration(
                _operator(request), application, ip_address=sessions.client_ip(request)
            )
        except DomainError as failure:
            error = failure
            # The service names an account by its place among the typed rows.
            for position, row in enumerate(typed):
                row.error = failure.fields.get(f"accounts.{position}", "")
        else:
            messages.success(
                request,
                _("受付番号 %(id)s で登録しました。別の職員の承認で有効になります。") % {"id": action.pk},
            )
            return redirect("backoffice:action", action_id=action.pk)
    return form_page(
        request,
        title=_("契約の新規登録"),
        lead=_("申込書の内容を入力してください。"),
        fields=fields,
        submit_label=_("登録する（承認待ち）"),
        error=error,
        template="corpbank/backoffice/contract_new.html",
        sections=[(_("団体"), organization), (_("マスターユーザ"), master), (_("ご利用方法"), use)],
        pin_fields=pins,
        limit_rows=limit_rows,
        account_rows=accounts,
        accounts_error=error.fields.get("accounts", "") if error else "",
        can_add_row=len(accounts) < MAX_ACCOUNT_ROWS,
        branches=branches,
        account_types=Account.Type.choices,
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
            "tokens": contract.tokens.filter(type=Token.Type.HARDWARE)
            .select_related("principal")
            .order_by("serial"),
            "software_tokens": SoftwareTokenEnrolment.objects.filter(token__contract=contract)
            .select_related("user")
            .order_by("-issued_at"),
            "history": contract.pending_actions.select_related("entered_by", "decided_by").order_by(
                "-entered_at"
            )[:20],
        },
    )


@require_POST
@entrant_required
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
        messages.error(request, in_one_line(error))  # the contract page's small forms
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


@entrant_required
def contract_account(request: HttpRequest, contract_id: int) -> HttpResponse:
    """口座の追加 on the paper form."""
    return _procedure_form(
        request,
        contract_id,
        title=_("口座の追加"),
        fields=[
            Field("branch_code", _("店番"), hint=_("3桁"), maxlength=6),
            Field("type", _("科目"), "select", choices=Account.Type.choices),
            Field("number", _("口座番号"), hint=_("7桁"), maxlength=14),
        ],
        enter=lambda operator, ip_address: backoffice.enter_account_opening(
            operator,
            contract_id,
            branch_code=request.POST.get("branch_code", ""),
            type=request.POST.get("type", ""),
            number=request.POST.get("number", ""),
            ip_address=ip_address,
        ),
    )


@entrant_required
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


@entrant_required
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


@entrant_required
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


@entrant_required
def token_lost(request: HttpRequest, serial: str) -> HttpResponse:
    """紛失の届出: the token is disabled at once and for ever (R-E6), so only after a page that shows
    which token and whose, with 「お客様からの紛失の届出を確認しました」 checked (one click did it before)."""
    shipped = token_selectors.reportable_lost(serial)
    if shipped is not None and request.POST.get("confirmed") != "1":
        response = render(
            request,
            "corpbank/backoffice/token_lost.html",
            {
                "title": _("パスワード生成機の紛失の届出"),
                "token": shipped,
                "unconfirmed": request.method == "POST",
            },
            status=422 if request.method == "POST" else 200,
        )
        return response
    if request.method != "POST":  # nothing to confirm: say why (not shipped, or reported lost already)
        messages.error(request, tokens.lost_report_refusal(serial) or _("不明なパスワード生成機です。"))
        return redirect("backoffice:home")
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


def _action_page(request: HttpRequest, action_id: int, *, error: DomainError | None = None) -> HttpResponse:
    """A procedure's entry, every field labelled (and what it changes), with 承認 behind the
    confirmation 「内容を確認しました」 for an operator who may decide it."""
    try:
        view = backoffice_selectors.action_view(action_id, _operator(request))
    except DomainError as missing:
        return render(
            request,
            "corpbank/backoffice/message.html",
            {"title": _("手続の内容"), "message": missing.message},
            status=missing.http_status,
        )
    return render(
        request,
        "corpbank/backoffice/action.html",
        {
            "title": _("手続の内容（受付番号 %(id)s）") % {"id": view.action.pk},
            "view": view,
            "operator_procedure": view.action.kind in backoffice.OPERATOR_PROCEDURE_KINDS,
            "shows_before": view.shows_before and any(detail.before is not None for detail in view.details),
            "error": error.message if error else "",
            "field_errors": error.fields if error else {},
        },
        status=error.http_status if error else 200,
    )


@operator_required
def action_detail(request: HttpRequest, action_id: int) -> HttpResponse:
    return _action_page(request, action_id)


@require_POST
@decider_required
def action_approve(request: HttpRequest, action_id: int) -> HttpResponse:
    """承認, only with 「内容を確認しました」 checked on the page that showed the entry."""
    if request.POST.get("confirmed") != "1":
        return _action_page(request, action_id, error=ApprovalNotConfirmed())
    try:
        decision = backoffice.approve(_operator(request), action_id, ip_address=sessions.client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("backoffice:home")
    if decision.letter is not None:
        # Shown once: the initial password exists nowhere else in clear (R-B5, R-B7). The customer's
        # paper letter is in Japanese, whatever language the approver works in.
        with translation.override("ja"):
            response = render(
                request,
                "corpbank/backoffice/letter.html",
                {"title": _("初期パスワードのご案内"), "letter": decision.letter},
            )
        response["Cache-Control"] = "no-store"
        return response
    if decision.operator_letter is not None:
        return operator_letter_page(request, decision.operator_letter)
    messages.success(request, _("承認しました。"))
    return redirect("backoffice:home")


@require_POST
@decider_required
def action_reject(request: HttpRequest, action_id: int) -> HttpResponse:
    try:
        backoffice.reject(
            _operator(request),
            action_id,
            ip_address=sessions.client_ip(request),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as error:
        messages.error(request, in_one_line(error))
    else:
        messages.success(request, _("却下しました。"))
    return redirect("backoffice:home")


@require_POST
@operator_required
def action_withdraw(request: HttpRequest, action_id: int) -> HttpResponse:
    """取消 of the operator's own entry, before anybody decided it."""
    try:
        backoffice.withdraw(_operator(request), action_id, ip_address=sessions.client_ip(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("受付した手続を取り消しました。"))
    return redirect("backoffice:home")


AUDIT_FILTERS = ("date_from", "date_to", "contract_number", "login_id", "action", "actor")


@operator_required
def audit(request: HttpRequest) -> HttpResponse:
    """監査ログ検索 (R-I3): each event in the bank's words, filtered in the clerk's, a page at a time."""
    typed = {key: request.GET.get(key, "").strip() for key in AUDIT_FILTERS}
    error: DomainError | None = None
    page: Page[AuditEvent] | None = None
    rows: list[backoffice_selectors.AuditRow] = []
    try:
        criteria = backoffice_selectors.audit_criteria(typed)
    except DomainError as failure:
        error = failure
    else:
        page, rows = backoffice_selectors.audit_page(criteria, request.GET.get("page", "1"))
    return render(
        request,
        "corpbank/backoffice/audit.html",
        {
            "title": _("監査ログ検索"),
            "criteria": typed,
            "action_choices": audit_labels.choices(),
            "page": page,
            "rows": rows,
            # The filters again, for the links to the other pages.
            "query": urlencode({key: value for key, value in typed.items() if value}),
            "error": error.message if error else "",
            "field_errors": error.fields if error else {},
        },
        status=error.http_status if error else 200,
    )
