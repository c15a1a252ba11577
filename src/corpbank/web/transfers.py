"""振込振替 and 振込先管理 (R-G2, R-G4): the bank's screens, in its steps — 入力 → 確認 → 完了.

What was typed on an input screen is kept in the session under a one-time token (sessions.keep_order)
until its confirmation, whose address names it. The token is also the transfer's idempotency key: a
double click on 確定, a reload of the confirmation or the back button and 確定 again give back the same
transfer (payments/transfers.py). The completion is a page of its own (a redirect after the POST), so
that reloading it orders nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from corpbank.authorization.operations import Operation
from corpbank.calendar import days
from corpbank.core.errors import DomainError
from corpbank.organizations.models import Account, CustomerUser
from corpbank.payments import banks, payees, transfers
from corpbank.payments.models import Transfer
from corpbank.web import sessions
from corpbank.web.pages import (
    Field,
    customer_required,
    factor_fields,
    factors_from,
    form_page,
    message_page,
    posted,
)

ADHOC_FIELDS = ("bank_code", "branch_code", "type", "number", "holder")
TRANSFER_FIELDS = (
    "source_account",
    "to",
    "target_account",
    "payee_id",
    *ADHOC_FIELDS,
    "amount",
    "execution_date",
    "fee_bearer",
)
PAYEE_FIELDS = (*ADHOC_FIELDS, "nickname")


def _user(request: HttpRequest) -> CustomerUser:
    return request.customer  # type: ignore[attr-defined, no-any-return]


def _kept(request: HttpRequest, kind: str, token: str) -> dict[str, str] | None:
    """What the input screen kept for its confirmation, or None (told: expired, to enter again)."""
    typed = sessions.kept_order(request, kind, token)
    if typed is None:
        messages.error(request, _("入力内容の有効期限が切れました。お手数ですが、もう一度入力してください。"))
    return typed


def _refused(request: HttpRequest, title: str, error: DomainError) -> HttpResponse:
    return message_page(request, title, error.message, error.http_status)


def _payee_input(typed: dict[str, str]) -> payees.PayeeInput:
    return payees.PayeeInput(
        typed.get("bank_code", ""),
        typed.get("branch_code", ""),
        typed.get("type", ""),
        typed.get("number", ""),
        typed.get("holder", ""),
        typed.get("nickname", ""),
    )


def _transfer_input(typed: dict[str, str]) -> transfers.TransferInput:
    return transfers.TransferInput(
        source_account=typed.get("source_account", ""),
        to=typed.get("to", ""),
        amount=typed.get("amount", ""),
        execution_date=typed.get("execution_date", ""),
        fee_bearer=typed.get("fee_bearer", "payer") or "payer",
        target_account=typed.get("target_account", ""),
        payee_id=typed.get("payee_id", ""),
        adhoc=_payee_input(typed) if typed.get("to") == "adhoc" else None,
    )


def _account_fields(*, adhoc: bool = False) -> list[Field]:
    """The account's inputs; on the transfer form, for 都度指定 only (their labels say so)."""
    fields = [
        Field(
            "bank_code",
            _("金融機関コード"),
            hint=_("4桁（例：0001）。わからない場合は「金融機関・支店を検索」で調べて選べます。"),
            maxlength=8,
        ),
        Field("branch_code", _("支店コード"), hint=_("3桁"), maxlength=6),
        Field("type", _("預金種目"), "select", choices=[("", "—"), *Account.Type.choices]),
        Field("number", _("口座番号"), hint=_("7桁（7桁未満は先頭に0を付けてください）"), maxlength=14),
        Field(
            "holder",
            _("受取人名（口座名義・カナ）"),
            hint=_(
                "当金庫の口座は入力不要です（当金庫の登録内容を表示します）。全角カナ・ひらがなも使えます。"
            ),
            maxlength=60,
        ),
    ]
    if adhoc:
        for field in fields:
            field.label = _("【都度指定】%(label)s") % {"label": field.label}
    return fields


# -- 振込振替 -----------------------------------------------------------------------------------------


@customer_required()
def transfer_list(request: HttpRequest) -> HttpResponse:
    """振込振替: the menu's page — a new transfer, and the contract's transfers (照会・予約取消)."""
    try:
        found = transfers.with_run_days(transfers.transfers_of(_user(request)))
    except DomainError as stopped:
        return _refused(request, _("振込振替"), stopped)
    return render(
        request,
        "corpbank/transfers/list.html",
        {"title": _("振込振替"), "transfers": found, "service_hours": days.service_hours()},
    )


def _transfer_fields(user: CustomerUser) -> list[Field]:
    accounts = [
        (str(account.pk), f"{account.branch} {account.type_label} {account.number}")
        for account in Account.objects.filter(contract_id=user.contract_id)
        .select_related("branch")
        .order_by("pk")
    ]
    registered = [
        (
            str(p.pk),
            _("%(name)s（%(detail)s）")
            % {"name": p.nickname or p.holder_kana, "detail": f"{p.bank_name} {p.branch_name} {p.number}"},
        )
        for p in payees.payees(user)
    ]
    return [
        Field("source_account", _("支払口座"), "select", choices=accounts),
        Field(
            "to",
            _("振込先の指定方法"),
            "select",
            choices=[
                ("payee", _("登録振込先から選ぶ")),
                ("adhoc", _("都度指定（口座を入力する）")),
                ("own", _("ご契約口座へ振替")),
            ],
        ),
        Field(
            "payee_id",
            _("登録振込先"),
            "select",
            choices=[("", "—"), *registered],
            hint=_("「登録振込先から選ぶ」の場合"),
        ),
        Field(
            "target_account",
            _("振替先のご契約口座"),
            "select",
            choices=[("", "—"), *accounts],
            hint=_("「ご契約口座へ振替」の場合"),
        ),
        *_account_fields(adhoc=True),
        Field("amount", _("振込金額（円）"), hint=_("例：10000 または 10,000"), maxlength=20),
        Field(
            "execution_date",
            _("振込指定日"),
            hint=_("空欄の場合は最短の日（営業日の%(cutoff)sまでは当日、以降は翌営業日）。例：2026/12/01")
            % {"cutoff": f"{days.service_settings().transfer_cutoff:%H:%M}"},
            maxlength=12,
        ),
        Field("fee_bearer", _("手数料の負担"), "select", choices=Transfer.FeeBearer.choices),
    ]


@customer_required()
def transfer_new(request: HttpRequest) -> HttpResponse:
    """振込振替 入力."""
    user = _user(request)
    try:
        fields = _transfer_fields(user)
        transfers.transfers_of(user)  # the permission, before anything is typed
    except DomainError as stopped:
        return _refused(request, _("振込振替"), stopped)
    error: DomainError | None = None
    if request.method == "POST":
        typed = posted(request, *TRANSFER_FIELDS)
        if request.POST.get("search_bank"):
            return _to_bank_search(request, "transfer", typed)
        try:
            transfers.quote(user, _transfer_input(typed))
        except DomainError as refused:
            error = refused
        else:
            token = sessions.keep_order(request, "transfer", typed)
            return redirect("transfer_confirm", token=token)
    elif (before := _typed_before(request, "transfer")) is not None:
        _fill(fields, before)
    elif request.GET.get("payee"):
        _fill(fields, {"to": "payee", "payee_id": request.GET["payee"]})
    return form_page(
        request,
        title=_("振込振替 入力"),
        breadcrumb=_("振込振替"),
        lead=_("支払口座・振込先・金額・振込指定日を入力し、「確認画面へ」を押してください。"),
        fields=fields,
        submit_label=_("確認画面へ"),
        error=error,
        search_link=True,
        template="corpbank/transfers/input.html",
    )


@customer_required()
def transfer_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """振込振替 確認: the fee, the execution day, the holder's name, the amount in words; the factors."""
    user = _user(request)
    typed = _kept(request, "transfer", token)
    if typed is None:
        return redirect("transfer_new")
    error: DomainError | None = None
    if request.method != "POST" and (done := transfers.accepted_under(user, token)) is not None:
        # Back to the confirmation after 確定 (the back button, a reload): the transfer it made.
        _tell_accepted(request, done)
        return redirect("transfer_detail", transfer_id=done.pk)
    if request.method == "POST":
        # The order first: a second 確定 (a double click, the back button) is answered with the transfer
        # the first made, even when the first has used up the day's limit meanwhile. It is held to what
        # its confirmation showed (a confirmation never shown holds it to nothing it could match).
        try:
            transfer = transfers.accept(
                user,
                _transfer_input(typed),
                factors_from(request, transfers.operation_of(_transfer_input(typed))),
                ip_address=sessions.client_ip(request),
                idempotency_key=token,
                confirmed=sessions.shown_order(request, token) or "unseen",
            )
        except DomainError as refused:
            error = refused
        else:
            if transfer.replayed:
                _tell_accepted(request, transfer)
            return redirect("transfer_detail", transfer_id=transfer.pk)
    try:
        quoted = transfers.quote(user, _transfer_input(typed))
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect("transfer_new")
    fields = factor_fields(request, quoted.operation)
    sessions.show_order(request, token, quoted.fingerprint())
    return form_page(
        request,
        title=_("振込振替 確認"),
        breadcrumb=_("振込振替"),
        fields=fields,
        submit_label=_("確定する"),
        error=error,
        quoted=quoted,
        back=f"{reverse('transfer_new')}?from={token}",
        template="corpbank/transfers/confirm.html",
    )


def _tell_accepted(request: HttpRequest, transfer: Transfer) -> None:
    messages.info(
        request,
        _("この振込振替はすでに受け付けています（受付番号 %(number)s）。二重には受け付けていません。")
        % {"number": transfer.reception_number},
    )


@customer_required()
def transfer_detail(request: HttpRequest, transfer_id: int) -> HttpResponse:
    """振込振替 完了, and any transfer's detail later (照会), with 予約取消 while it waits."""
    try:
        transfer = transfers.transfer_of(_user(request), transfer_id)
    except DomainError as stopped:
        return _refused(request, _("振込振替"), stopped)
    return render(
        request,
        "corpbank/transfers/detail.html",
        {
            "title": _("振込振替 結果"),
            "transfer": transfer,
            "in_words": transfers.yen_in_words(transfer.amount),
            "postponed_to": transfers.runs_on(transfer),
        },
    )


@customer_required()
def transfer_cancel(request: HttpRequest, transfer_id: int) -> HttpResponse:
    """予約取消: the transfer shown once more, then cancelled on 取り消す."""
    user = _user(request)
    if request.method == "POST":
        try:
            transfers.cancel(user, transfer_id, ip_address=sessions.client_ip(request))
        except DomainError as stopped:
            messages.error(request, stopped.message)
        else:
            messages.success(request, _("振込予約を取り消しました。"))
        return redirect("transfer_detail", transfer_id=transfer_id)
    try:
        transfer = transfers.transfer_of(user, transfer_id)
    except DomainError as stopped:
        return _refused(request, _("振込振替"), stopped)
    if transfer.status != Transfer.Status.SCHEDULED:
        messages.error(request, transfers.CANNOT_CANCEL[Transfer.Status(transfer.status)]())
        return redirect("transfer_detail", transfer_id=transfer_id)
    return render(
        request,
        "corpbank/transfers/detail.html",
        {
            "title": _("振込予約の取消"),
            "transfer": transfer,
            "in_words": transfers.yen_in_words(transfer.amount),
            "confirming_cancel": True,
        },
    )


# -- 振込先管理 ---------------------------------------------------------------------------------------


@customer_required()
def payee_list(request: HttpRequest) -> HttpResponse:
    try:
        found = payees.payees(_user(request))
    except DomainError as stopped:
        return _refused(request, _("振込先管理"), stopped)
    return render(request, "corpbank/payees/list.html", {"title": _("振込先管理"), "payees": found})


@customer_required()
def payee_new(request: HttpRequest, payee_id: int | None = None) -> HttpResponse:
    """振込先の登録・変更 入力."""
    user = _user(request)
    fields = [
        *_account_fields(),
        Field(
            "nickname", _("登録名（任意）"), hint=_("30文字以内。振込先一覧に表示されます。"), maxlength=30
        ),
    ]
    try:
        payees.require_management(user)
        current = payees.payee_of(user, payee_id) if payee_id is not None else None
    except DomainError as stopped:
        return _refused(request, _("振込先管理"), stopped)
    error: DomainError | None = None
    if request.method == "POST":
        typed = posted(request, *PAYEE_FIELDS)
        if request.POST.get("search_bank"):
            return _to_bank_search(request, "payee", typed)
        try:
            payees.check_new(user, _payee_input(typed), other_than=payee_id)
        except DomainError as refused:
            error = refused
        else:
            token = sessions.keep_order(request, "payee", {**typed, "payee_id": str(payee_id or "")})
            return redirect("payee_confirm", token=token)
    elif (before := _typed_before(request, "payee")) is not None:
        _fill(fields, before)
    elif current is not None:
        values = {
            "bank_code": current.bank_code,
            "branch_code": current.branch_code,
            "type": current.type,
            "number": current.number,
            "holder": current.holder_kana,
            "nickname": current.nickname,
        }
        _fill(fields, values)
    return form_page(
        request,
        title=_("振込先の変更 入力") if current else _("振込先の登録 入力"),
        breadcrumb=_("振込先管理"),
        fields=fields,
        submit_label=_("確認画面へ"),
        error=error,
        search_link=True,
        template="corpbank/transfers/input.html",
    )


@customer_required()
def payee_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """振込先の登録・変更 確認: the account as the bank knows it (口座名義照会), then the factors."""
    user = _user(request)
    typed = _kept(request, "payee", token)
    if typed is None:
        return redirect("payees")
    payee_id = int(typed["payee_id"]) if typed.get("payee_id") else None
    try:
        payees.require_management(user)
        checked = payees.check(_payee_input(typed))
    except DomainError as refused:
        messages.error(request, refused.message)
        return redirect("payees")
    fields = factor_fields(request, Operation.PAYEE_REGISTRATION)
    error: DomainError | None = None
    if request.method == "POST":
        factors = factors_from(request, Operation.PAYEE_REGISTRATION)
        try:
            if payee_id is None:
                payees.register(user, _payee_input(typed), factors, sessions.client_ip(request))
            else:
                payees.change(user, payee_id, _payee_input(typed), factors, sessions.client_ip(request))
        except DomainError as refused:
            error = refused
        else:
            messages.success(
                request,
                _("振込先を登録しました。") if payee_id is None else _("振込先を変更しました。"),
            )
            return redirect("payees")
    return form_page(
        request,
        title=_("振込先の変更 確認") if payee_id else _("振込先の登録 確認"),
        breadcrumb=_("振込先管理"),
        fields=fields,
        submit_label=_("登録する") if payee_id is None else _("変更する"),
        error=error,
        checked=checked,
        back=(
            f"{reverse('payee_change', args=[payee_id])}?from={token}"
            if payee_id
            else f"{reverse('payee_new')}?from={token}"
        ),
        template="corpbank/payees/confirm.html",
    )


@customer_required()
def payee_delete(request: HttpRequest, payee_id: int) -> HttpResponse:
    user = _user(request)
    try:
        payees.require_management(user)
        payee = payees.payee_of(user, payee_id)
    except DomainError as stopped:
        return _refused(request, _("振込先管理"), stopped)
    fields = factor_fields(request, Operation.PAYEE_REGISTRATION)
    error: DomainError | None = None
    if request.method == "POST":
        try:
            payees.delete(
                user,
                payee_id,
                factors_from(request, Operation.PAYEE_REGISTRATION),
                sessions.client_ip(request),
            )
        except DomainError as refused:
            error = refused
        else:
            messages.success(request, _("振込先を削除しました。"))
            return redirect("payees")
    return form_page(
        request,
        title=_("振込先の削除（確認）"),
        breadcrumb=_("振込先管理"),
        lead=_("次の振込先を削除します。予約中の振込は削除後もそのまま実行されます。"),
        fields=fields,
        submit_label=_("削除する"),
        error=error,
        payee=payee,
        template="corpbank/payees/confirm.html",
    )


# What an input screen keeps while its user looks up a bank and branch (sessions.keep_order), by kind.
DRAFTS = {"transfer": "transfer_draft", "payee": "payee_draft"}
DRAFT_VALUE_LENGTH = 100


def _to_bank_search(request: HttpRequest, kind: str, typed: dict[str, str]) -> HttpResponse:
    """「金融機関・支店を検索」 on an input screen: what was typed is kept, with the screen to come back
    to, and the search offers each branch it finds to be chosen."""
    # Not checked yet: each value cut to what a field holds, so that a draft never swells the session.
    kept = {name: value[:DRAFT_VALUE_LENGTH] for name, value in typed.items()}
    token = sessions.keep_order(request, DRAFTS[kind], {**kept, BACK: request.path})
    return redirect(f"{reverse('bank_search')}?{urlencode({'for': kind, 'draft': token})}")


def _typed_before(request: HttpRequest, kind: str) -> dict[str, str] | None:
    """What was typed on the input screen before coming back to it: from its confirmation (修正,
    ``?from=``) or from 金融機関・支店の検索 with the branch chosen there (``?draft=``)."""
    kept = sessions.kept_order(request, kind, request.GET.get("from", ""))
    return kept if kept is not None else _picked(request, kind)


def _fill(fields: list[Field], values: dict[str, str]) -> None:
    for field in fields:
        field.value = values.get(field.name, field.value)


def _picked(request: HttpRequest, kind: str) -> dict[str, str] | None:
    """What was typed before the search, with the bank and branch chosen in it (a code of digits only;
    anything else is left as it was typed). A transfer's destination becomes 都度指定."""
    draft = sessions.kept_order(request, DRAFTS[kind], request.GET.get("draft", "")[:40])
    if draft is None:
        return None
    for name, width in (("bank_code", 4), ("branch_code", 3)):
        value = request.GET.get(name, "")
        if len(value) == width and value.isascii() and value.isdigit():
            draft[name] = value
    if kind == "transfer":
        draft["to"] = "adhoc"
    return draft


# The screen a draft comes back to: a path this server wrote into the session, never one from the request.
BACK = "_back"


@customer_required()
def bank_search(request: HttpRequest) -> HttpResponse:
    """金融機関・支店の検索: banks by code or name, then a bank's branches. Reached from an input screen
    (``for`` and ``draft``), each branch can be chosen, which goes back to that screen with what was
    typed there and the codes filled in."""
    query = request.GET.get("q", "")[:40]
    bank_code = request.GET.get("bank", "")[:8]
    bank = banks.bank(bank_code) if bank_code else None
    found_banks = banks.search_banks(query) if bank is None and query else []
    found_branches = banks.search_branches(bank.code, query) if bank is not None else []
    kind, token = request.GET.get("for", ""), request.GET.get("draft", "")[:40]
    draft = sessions.kept_order(request, DRAFTS[kind], token) if kind in DRAFTS else None
    back = f"{draft[BACK]}?{urlencode({'draft': token})}" if draft and BACK in draft else ""
    return render(
        request,
        "corpbank/payees/banks.html",
        {
            "title": _("金融機関・支店の検索"),
            "query": query,
            "bank": bank,
            "banks": found_banks,
            "branches": found_branches,
            "back": back,
            "carried": urlencode({"for": kind, "draft": token}) if back else "",
            "kind": kind if back else "",
            "draft": token if back else "",
        },
    )
