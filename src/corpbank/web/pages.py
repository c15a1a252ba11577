"""What every screen shares: field descriptions for the one form template, the login requirements of
customer and back-office pages, turning a DomainError into the page the user sees, and the one shape of
a master's act on a user (利用者管理, ワンタイムパスワードの管理, 電子証明書の管理)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from corpbank.authorization import operations
from corpbank.authorization.operations import Operation
from corpbank.backoffice.models import Operator
from corpbank.core.errors import DomainError, FactorsRejected, ValidationFailed
from corpbank.core.text import half_width, is_digits
from corpbank.identity.models import SecretKind
from corpbank.organizations import selectors as organization_selectors
from corpbank.organizations.models import CustomerUser, UsageLimit
from corpbank.organizations.services import LimitInput
from corpbank.web import drafts, sessions

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]
PASSWORD_HINT = gettext_lazy(
    "6文字以上12文字以内の半角英数字記号（英字と数字を必ず混在）。大文字・小文字を区別します。"
)


@dataclasses.dataclass
class Field:
    name: str
    label: str | Promise
    type: str = "text"
    hint: str = ""
    autocomplete: str = "off"
    value: Any = None
    choices: Sequence[tuple[str, str | Promise]] = ()
    maxlength: int | None = None
    error: str = ""

    @property
    def is_secret(self) -> bool:
        """Never shown back, never kept: passwords, PINs, answers, and the one-time password."""
        return self.type == "password" or self.name == SecretKind.OTP

    @property
    def described_by(self) -> str:
        """The ids of the hint and the error tied to the input (aria-describedby), as form.html names
        them."""
        shown = {f"hint_{self.name}": self.hint, f"error_{self.name}": self.error}
        return " ".join(id_ for id_, text in shown.items() if text)


def secret(name: str, label: str | Promise, hint: str = "", autocomplete: str = "off") -> Field:
    return Field(name, label, "password", hint=hint, autocomplete=autocomplete, maxlength=12)


def otp_field(hint: str | Promise = "") -> Field:
    """The one-time password input, as every form asks it (the browser may offer the code it received)."""
    return Field(
        "otp",
        _("ワンタイムパスワード"),
        hint=str(hint or _("パスワード生成機に表示されている数字")),
        maxlength=8,
        autocomplete="one-time-code",
    )


def _refusal(error: DomainError | None, fields: list[Field]) -> str:
    """The alert's text. Refused factors are never told apart (R-C6); where a one-time password was
    asked, the alert adds that each is good once, since a code typed twice within its minute (a second
    operation, a retry) is refused like a wrong one."""
    if error is None:
        return ""
    if error.code == FactorsRejected.code and any(field.name == "otp" for field in fields):
        return " ".join(
            [
                error.message,
                _(
                    "ワンタイムパスワードは1回限り有効です。直前に使ったものは、次に表示されるまでお待ちください。"
                ),
            ]
        )
    return error.message


def form_page(
    request: HttpRequest,
    *,
    title: str,
    fields: list[Field],
    submit_label: str,
    error: DomainError | None = None,
    template: str = "corpbank/form.html",
    **context: Any,
) -> HttpResponse:
    """Render the one form template; keep what was typed (never secrets) and show errors by field, each
    tied to its input; the first field in error takes the focus, else the alert. On a page whose form
    was sent after the session timed out, what was typed then (never secrets) is filled in again."""
    typed: dict[str, list[str]] | None
    if request.method == "POST":
        typed = {name: request.POST.getlist(name) for name in request.POST}
    else:
        typed = drafts.take(request)
        if typed is not None:
            context["restored"] = True
    for field in fields:
        if typed is None or field.is_secret:
            continue
        if field.type == "checkboxes":
            field.value = typed.get(field.name, [])
        elif field.name in typed:
            field.value = typed[field.name][-1]
    if error is not None:
        for field in fields:
            field.error = error.fields.get(field.name, "")
    status = error.http_status if error is not None else 200
    shown = {field.name for field in fields}
    return render(
        request,
        template,
        {
            "title": title,
            "fields": fields,
            "submit_label": submit_label,
            "error": _refusal(error, fields),
            "invalid_fields": [field for field in fields if field.error],
            # What is wrong with an input this page does not show (a field of the previous step).
            "unshown_errors": [
                message for name, message in (error.fields if error else {}).items() if name not in shown
            ],
            # What a draft may keep if the session times out before the form arrives (web/drafts.py).
            "kept_fields": " ".join(field.name for field in fields if not field.is_secret),
            **context,
        },
        status=status,
    )


def in_one_line(error: DomainError) -> str:
    """A refusal told where a page has no place for each field's message (a small form of the
    contract or money page, a message after a redirect): the summary, then every field's message."""
    return " ".join([error.message, *error.fields.values()])


def message_page(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    """A customer page that only says why it cannot be used."""
    return render(request, "corpbank/message.html", {"title": title, "message": message}, status=status)


def to_login(request: HttpRequest, login_url: str) -> HttpResponse:
    """Back to a login page. The middleware has said why when the session ended of inactivity (R-A5);
    a form sent then keeps its non-secret fields for the same person's next session (web/drafts.py)."""
    owner = getattr(request, "timed_out_owner", None)
    if owner is not None and drafts.keep(request, owner):
        messages.info(
            request,
            _(
                "入力中の内容（パスワード・暗証番号・ワンタイムパスワードを除く）は保存しました。"
                "再度ログインすると、入力中の画面に戻れます。"
            ),
        )
    return redirect(login_url)


def customer_required(
    *,
    master_only: bool = False,
    allow_pending_change: bool = False,
    allow_pending_questions: bool = False,
    allow_pending_token: bool = False,
) -> Callable[[View], View]:
    """A logged-in customer's page. What must be done first opens alone, in order (sessions.
    required_page): IDメンテナンス until the passwords are changed (R-B6), the secret questions until
    registered (R-D1, ``allow_pending_questions``), the token pages until a token is registered
    (R-E7, R-E9, ``allow_pending_token``)."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            customer: CustomerUser | None = request.customer  # type: ignore[attr-defined]
            if customer is None:
                return to_login(request, "login")
            required = sessions.required_page(request, customer)
            allowed = (
                allow_pending_change
                or (required == "secret_questions" and allow_pending_questions)
                or (required == sessions.token_page(customer) and allow_pending_token)
            )
            if required is not None and not allowed:
                return redirect(required)
            if master_only and not customer.is_master:
                return message_page(
                    request,
                    _("ご利用いただけません"),
                    _("この機能はマスターユーザのみご利用いただけます。"),
                    403,
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def operator_required(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        operator: Operator | None = request.operator  # type: ignore[attr-defined]
        if operator is None:
            return to_login(request, "backoffice:login")
        return view(request, *args, **kwargs)

    return wrapper


def posted(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in names}


def limit_fields(current: Iterable[UsageLimit]) -> list[Field]:
    """利用限度額 inputs, per kind of transaction: per transaction and per day, in yen (R-A4)."""
    by_kind = {limit.kind: limit for limit in current}
    fields = []
    for kind, label in UsageLimit.Kind.choices:
        limit = by_kind.get(kind)
        fields.append(
            Field(
                f"limit_{kind}",
                _("利用限度額（%(kind)s）1回あたり・円") % {"kind": label},
                "number",
                value=limit.per_transaction if limit else "",
            )
        )
        fields.append(
            Field(
                f"limit_{kind}_per_day",
                _("利用限度額（%(kind)s）1日あたり・円") % {"kind": label},
                "number",
                value=limit.per_day if limit else "",
            )
        )
    return fields


# Yen amounts typed in a form: 15 digits (999 trillion yen) is beyond any limit and within a bigint.
MAX_AMOUNT_DIGITS = 15


def limits_from(request: HttpRequest) -> list[LimitInput]:
    """Limits typed in yen; a kind left blank gets no limit row, which allows nothing of that kind."""
    limits, problems = [], {}
    for kind in UsageLimit.Kind.values:
        # Full-width digits and commas are the half-width ones; only 0-9 then (int() refuses "²").
        per_transaction = half_width(request.POST.get(f"limit_{kind}", "")).replace(",", "")
        per_day = half_width(request.POST.get(f"limit_{kind}_per_day", "")).replace(",", "")
        if not per_transaction and not per_day:
            continue
        if per_transaction.startswith("-") or per_day.startswith("-"):
            problems[f"limit_{kind}"] = _("限度額は0円以上で入力してください。")
            continue
        if not (per_transaction and per_day and is_digits(per_transaction) and is_digits(per_day)):
            problems[f"limit_{kind}"] = _(
                "限度額は半角数字（円）で1回あたり・1日あたりの両方を入力してください。"
            )
            continue
        if max(len(per_transaction), len(per_day)) > MAX_AMOUNT_DIGITS:  # int() refuses 4,300 digits
            problems[f"limit_{kind}"] = _("限度額は%(digits)d桁以内で入力してください。") % {
                "digits": MAX_AMOUNT_DIGITS
            }
            continue
        limits.append(LimitInput(kind, int(per_transaction), int(per_day)))
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    return limits


def factor_fields(request: HttpRequest, operation: Operation) -> list[Field]:
    """Exactly the factors the operation table asks for ``operation`` on the user's contract (R-B3,
    R-B4, R-E2), in the order they are checked: derived from the table, so that a form never asks for
    what the check ignores, nor misses what it needs."""
    master_only = operations.REQUIREMENTS[operation].master_only
    return [
        _factor_field(kind, master_only=master_only)
        for kind in operations.factors(operation, request.customer.contract)  # type: ignore[attr-defined]
    ]


def _factor_field(kind: str, *, master_only: bool) -> Field:
    if kind == SecretKind.OTP:
        return otp_field()
    if kind == SecretKind.CONFIRMATION_PASSWORD and master_only:
        return secret(
            kind,
            _("確認用パスワード（マスターユーザ）"),
            _("登録内容・権限の変更には、マスターユーザの確認用パスワードが必要です。"),
        )
    if kind in operations.PIN_KINDS:
        return secret(kind, SecretKind(kind).label, _("数字4桁"))
    return secret(kind, SecretKind(kind).label)


def factors_from(request: HttpRequest, operation: Operation) -> dict[str, str]:
    """What was typed into the operation's factor fields (factor_fields), by factor."""
    contract = request.customer.contract  # type: ignore[attr-defined]
    return {name: request.POST.get(name, "") for name in operations.factors(operation, contract)}


def act_on_user(
    request: HttpRequest,
    user_id: int,
    *,
    operation: Operation,
    title: str,
    lead: str,
    submit_label: str,
    extra_fields: Callable[[CustomerUser], list[Field]],
    act: Callable[[CustomerUser, dict[str, str]], object],
    done: str | Callable[[object], str],
    breadcrumb: str | Promise,
    back: str,
    allow_self: bool = False,
) -> HttpResponse:
    """A master's act on one general user (or, with ``allow_self``, on the master): the form with the
    factors the table asks for ``operation``, the act, and back to the list ``back`` names with the
    message ``done`` (or what ``done`` makes of the act's result)."""
    master: CustomerUser = request.customer  # type: ignore[attr-defined]
    try:
        target = (
            master
            if allow_self and user_id == master.pk
            else organization_selectors.general_user_of(master, user_id)
        )
    except DomainError as missing:
        return message_page(request, title, missing.message, missing.http_status)
    fields = [*extra_fields(target), *factor_fields(request, operation)]
    error: DomainError | None = None
    if request.method == "POST":
        try:
            outcome = act(target, factors_from(request, operation))
        except DomainError as failure:
            error = failure
        else:
            messages.success(request, done if isinstance(done, str) else done(outcome))
            return redirect(back)
    return form_page(
        request,
        title=title,
        breadcrumb=breadcrumb,
        lead=_("%(name)s（%(detail)s）") % {"name": lead, "detail": f"{target.login_id} {target.name}"},
        fields=fields,
        submit_label=submit_label,
        error=error,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's CSRF refusal (CSRF_FAILURE_VIEW) as a page of the bank's, in the user's language: the
    request is refused as before, without Django's own page, which names its settings."""
    logger.info("CSRF check failed on %s: %s", request.path, reason)
    backoffice = bool(getattr(request, sessions.BACKOFFICE, ""))
    base = "corpbank/backoffice/base.html" if backoffice else "corpbank/base.html"
    return render(request, "403_csrf.html", {"base_template": base, "backoffice": backoffice}, status=403)
