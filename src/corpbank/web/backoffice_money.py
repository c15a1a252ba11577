"""The back office's money screens (issue 14 item 8): 窓口入金・出金, the fee table, the same-day cut-off and
closed days, the search of transfers and the day's interbank file. Clerks and approvers; every form
posts to its own address and comes back to the page with what happened (the services audit each act)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import cash, operator_actor
from corpbank.backoffice.services import transfers as bank_transfers
from corpbank.calendar import days
from corpbank.calendar import services as calendar
from corpbank.core import text
from corpbank.core.errors import DomainError, NotFound, ValidationFailed
from corpbank.payments import transfers as customer_transfers
from corpbank.payments.models import Transfer
from corpbank.web import sessions
from corpbank.web.backoffice_operators import entrant_required
from corpbank.web.pages import in_one_line


def _operator(request: HttpRequest) -> Operator:
    return request.operator  # type: ignore[attr-defined, no-any-return]


# What a refused form of the money page had typed, for the page to show it again (once).
TYPED = "corpbank_money_typed"
MAX_KEPT = 60
CASH_FIELDS = ("branch_code", "type", "number", "amount", "withdrawal")


def _told(
    request: HttpRequest, act: Callable[[], str], *, form: str, keep: tuple[str, ...], what: str
) -> HttpResponse:
    """Run the form's act; tell its outcome, or what to correct, on the money page, the refusal naming
    ``what`` form it was, whose ``keep`` fields come back as they were typed (a clerk corrects one,
    not all)."""
    try:
        messages.success(request, act())
    except DomainError as refused:
        messages.error(request, f"{what}: {in_one_line(refused)}")
        request.session[TYPED] = {
            "form": form,
            **{name: request.POST.get(name, "")[:MAX_KEPT] for name in keep},
        }
    return redirect("backoffice:money")


@entrant_required
def money(request: HttpRequest) -> HttpResponse:
    """為替・入出金: the page of the forms below, the fee table and the calendar."""
    current = days.service_settings()
    typed = request.session.pop(TYPED, {})
    return render(
        request,
        "corpbank/backoffice/money.html",
        {
            "title": _("為替・入出金"),
            "fees": bank_transfers.fee_table(),
            "settings": current,
            "closed_days": days.closed_days_ahead(),
            "today": days.today(),
            "cash_token": secrets.token_urlsafe(18),
            "typed": typed,
            "cash": typed if typed.get("form") == "cash" else {},
        },
    )


@require_POST
@entrant_required
def money_cash(request: HttpRequest) -> HttpResponse:
    def act() -> str:
        done = cash.post_cash(
            operator=_operator(request),
            branch_code=request.POST.get("branch_code", ""),
            type=request.POST.get("type", ""),
            number=request.POST.get("number", ""),
            amount=request.POST.get("amount", ""),
            withdrawal=request.POST.get("withdrawal") == "1",
            idempotency_key=request.POST.get("token", ""),  # the page's: a double click pays once
            ip_address=sessions.client_ip(request),
        )
        if done.replayed:
            return _("この入出金はすでに記帳済みです（二重には記帳していません）。残高 %(balance)s円。") % {
                "balance": f"{done.balance:,}"
            }
        return _("%(account)s（%(holder)s）：%(kind)s %(amount)s円を記帳しました（残高 %(balance)s円）。") % {
            "account": done.account,
            "holder": done.account.holder_kana,
            "kind": _("出金") if request.POST.get("withdrawal") == "1" else _("入金"),
            "amount": f"{abs(done.amount):,}",
            "balance": f"{done.balance:,}",
        }

    return _told(request, act, form="cash", keep=CASH_FIELDS, what=_("窓口入金・出金"))


@require_POST
@entrant_required
def money_fee(request: HttpRequest) -> HttpResponse:
    def act() -> str:
        bank_transfers.change_fee(
            _operator(request),
            destination=request.POST.get("destination", ""),
            band=request.POST.get("band", ""),
            fee=request.POST.get("fee", ""),
            ip_address=sessions.client_ip(request),
        )
        return _("振込手数料を変更しました。")

    return _told(request, act, form="fee", keep=("destination", "band", "fee"), what=_("振込手数料"))


@require_POST
@entrant_required
def money_settings(request: HttpRequest) -> HttpResponse:
    def act() -> str:
        cutoff = text.clock_time(
            request.POST.get("transfer_cutoff", ""), field="transfer_cutoff", label=_("締切時刻")
        )
        ahead = text.half_width(request.POST.get("max_days_ahead", ""))
        if not text.is_digits(ahead) or len(ahead) > 4:
            raise ValidationFailed(
                _("入力内容をご確認ください。"),
                fields={"max_days_ahead": _("予約可能日数は数字で入力してください。")},
            )
        calendar.change_service_settings(
            transfer_cutoff=cutoff,
            max_days_ahead=int(ahead),
            actor=operator_actor(_operator(request), sessions.client_ip(request)),
        )
        return _("当日扱いの締切時刻と予約可能日数を変更しました。")

    return _told(
        request,
        act,
        form="settings",
        keep=("transfer_cutoff", "max_days_ahead"),
        what=_("当日扱いの締切時刻・予約可能日数"),
    )


def _typed_day(typed: str, label: str) -> date:
    day = text.calendar_date(typed, field="day", label=label)
    if day is None:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={"day": _("%(label)sを入力してください。") % {"label": label}},
        )
    return day


@require_POST
@entrant_required
def money_closed_day(request: HttpRequest) -> HttpResponse:
    def act() -> str:
        actor = operator_actor(_operator(request), sessions.client_ip(request))
        day = _typed_day(request.POST.get("day", ""), _("休業日"))
        if request.POST.get("remove") == "1":
            calendar.remove_closed_day(day=day, actor=actor)
            return _("臨時休業日を取り消しました。")
        calendar.add_closed_day(day=day, reason=request.POST.get("reason", ""), actor=actor)
        waiting = bank_transfers.scheduled_on(day)
        if waiting:
            return _(
                "臨時休業日を登録しました。この日に予約中の振込が%(count)d件あります。"
                "これらは翌営業日（%(next)s）に実行されます。"
            ) % {"count": waiting, "next": text.day(days.next_business_day(day))}
        return _("臨時休業日を登録しました。")

    return _told(request, act, form="closed_day", keep=("day", "reason"), what=_("臨時休業日"))


@entrant_required
def transfer_search(request: HttpRequest) -> HttpResponse:
    """振込の検索, and the day's interbank file."""
    found: list[Transfer] = []
    error: DomainError | None = None
    searched = any(key != "file_day" for key in request.GET)
    try:
        file_day = (
            text.calendar_date(request.GET.get("file_day", ""), field="file_day", label=_("勘定日"))
            or days.today()
        )
    except DomainError:
        file_day = days.today()
    if searched:
        try:
            query = bank_transfers.TransferQuery(
                date_from=text.calendar_date(
                    request.GET.get("date_from", ""), field="date_from", label=_("振込指定日（から）")
                ),
                date_to=text.calendar_date(
                    request.GET.get("date_to", ""), field="date_to", label=_("振込指定日（まで）")
                ),
                status=request.GET.get("status", "")
                if request.GET.get("status", "") in Transfer.Status.values
                else "",
                contract_number=request.GET.get("contract_number", ""),
                reception_number=request.GET.get("reception_number", ""),
                other_banks_only=request.GET.get("other_banks_only") == "1",
            )
            found = bank_transfers.search(_operator(request), query)
        except DomainError as refused:
            error = refused
    return render(
        request,
        "corpbank/backoffice/transfers.html",
        {
            "title": _("振込の検索"),
            "transfers": customer_transfers.with_run_days(found),
            "searched": searched,
            "error": in_one_line(error) if error else "",
            "statuses": Transfer.Status.choices,
            "query": request.GET,
            "today": days.today(),
            "file_day": file_day,
            "batches": bank_transfers.outgoing_batches(file_day),
        },
        status=error.http_status if error else 200,
    )


@entrant_required
def outgoing_file(request: HttpRequest) -> HttpResponse:
    """他行あて振込ファイル (a download): POST makes the next file of the day (what has not been sent)
    and marks it sent; GET with ``batch`` makes one of the day's files again."""
    again = request.method != "POST"
    source = request.GET if again else request.POST
    try:
        day = _typed_day(source.get("day", ""), _("勘定日"))
        batch = None
        if again:
            try:
                batch = datetime.fromisoformat(source.get("batch", ""))
            except ValueError:
                raise NotFound(_("指定された送信ファイルは見つかりません。")) from None
        elif not bank_transfers.unsent_on(day):
            messages.info(request, _("%(day)sの未送信の他行あて振込はありません。") % {"day": text.day(day)})
            return redirect(f"{reverse('backoffice:transfers')}?file_day={day:%Y-%m-%d}")
        data = bank_transfers.outgoing_file(
            _operator(request), day, batch=batch, ip_address=sessions.client_ip(request)
        )
    except DomainError as refused:
        messages.error(request, in_one_line(refused))
        return redirect("backoffice:transfers")
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="zengin-{day:%Y%m%d}.txt"'
    return response
