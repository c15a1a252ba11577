"""明細照会 (R-G1): 残高照会 and 入出金明細 with its CSV, after the inquiry PIN once per session."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _

from corpbank.authorization.operations import Operation
from corpbank.core import text
from corpbank.core.errors import DomainError, ValidationFailed
from corpbank.organizations.models import Permission
from corpbank.payments import inquiry, permissions
from corpbank.web import sessions
from corpbank.web.pages import Field, customer_required, factor_fields, factors_from, form_page, message_page


def _refused(request: HttpRequest, error: DomainError) -> HttpResponse:
    return message_page(request, _("明細照会"), error.message, error.http_status)


def _pin_first(request: HttpRequest) -> HttpResponse | None:
    """To the inquiry PIN's form, coming back here after it, unless the session has given it."""
    if sessions.inquiry_authorized(request):
        return None
    return redirect(f"{reverse('inquiry_pin')}?{urlencode({'next': request.get_full_path()})}")


@customer_required()
def inquiry_pin(request: HttpRequest) -> HttpResponse:
    """照会用暗証番号: asked once per login session, at the first inquiry."""
    back = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) or not back.startswith(
        "/"
    ):
        back = reverse("balances")
    fields = factor_fields(request, Operation.INQUIRY)
    error: DomainError | None = None
    if request.method == "POST":
        try:
            inquiry.authorize(
                user=request.customer,  # type: ignore[attr-defined]
                inquiry_pin=factors_from(request, Operation.INQUIRY).get("inquiry_pin", ""),
                ip_address=sessions.client_ip(request),
            )
        except DomainError as refused:
            error = refused
        else:
            sessions.authorize_inquiry(request)
            return redirect(back)
    return form_page(
        request,
        title=_("照会用暗証番号の入力"),
        breadcrumb=_("明細照会"),
        lead=_("残高・入出金明細の照会には照会用暗証番号が必要です（ログイン中に一度だけ入力します）。"),
        fields=fields,
        submit_label=_("照会する"),
        error=error,
    )


@customer_required()
def balances(request: HttpRequest) -> HttpResponse:
    """残高照会."""
    if (pin := _pin_first(request)) is not None:
        return pin
    try:
        found = inquiry.balances(request.customer)  # type: ignore[attr-defined]
    except DomainError as error:
        return _refused(request, error)
    return render(request, "corpbank/payments/balances.html", {"title": _("残高照会"), "accounts": found})


def _period_fields(request: HttpRequest) -> list[Field]:
    default_from, today = inquiry.period(None, None)
    return [
        Field(
            "date_from",
            _("照会開始日"),
            hint=_("例：%(day)s（省略すると30日前から）") % {"day": text.day(default_from)},
            value=request.GET.get("date_from", ""),
        ),
        Field(
            "date_to",
            _("照会終了日"),
            hint=_("例：%(day)s（省略すると本日まで）") % {"day": text.day(today)},
            value=request.GET.get("date_to", ""),
        ),
    ]


@customer_required()
def history(request: HttpRequest, account_id: int) -> HttpResponse:
    """入出金明細: the period's entries, 50 a page, and the same period as CSV."""
    if (pin := _pin_first(request)) is not None:
        return pin
    fields = _period_fields(request)
    try:
        # The account and the permission first: a bad date on somebody else's account is a 404.
        permissions.require(request.customer, Permission.INQUIRY)  # type: ignore[attr-defined]
        account = inquiry.account_of(request.customer, account_id)  # type: ignore[attr-defined]
    except DomainError as error:
        return _refused(request, error)
    try:
        date_from, date_to = inquiry.typed_period(
            request.GET.get("date_from", ""), request.GET.get("date_to", "")
        )
        page_number = int(text.half_width(request.GET.get("page", "1")) or "1")
        page = inquiry.history(
            request.customer,  # type: ignore[attr-defined]
            account_id,
            date_from=date_from,
            date_to=date_to,
            page=page_number,
        )
    except ValueError:
        return _refused(request, ValidationFailed(_("指定されたページはありません。")))
    except ValidationFailed as error:
        for field in fields:
            field.error = error.fields.get(field.name, "")
        return render(
            request,
            "corpbank/payments/history.html",
            {"title": _("入出金明細"), "account": account, "fields": fields, "error": error.message},
            status=error.http_status,
        )
    except DomainError as error:
        return _refused(request, error)
    query = {"date_from": page.date_from.isoformat(), "date_to": page.date_to.isoformat()}
    fields[0].value, fields[1].value = (text.day(day) for day in (page.date_from, page.date_to))
    return render(
        request,
        "corpbank/payments/history.html",
        {
            "title": _("入出金明細"),
            "account": page.account,
            "fields": fields,
            "page": page,
            "rows": [
                {
                    "leg": leg,
                    "withdrawal": -leg.amount if leg.amount < 0 else None,
                    "deposit": leg.amount if leg.amount > 0 else None,
                }
                for leg in page.legs
            ],
            "query": urlencode(query),
            "previous": page.page - 1 if page.page > 1 else None,
            "next": page.page + 1 if page.page < page.pages else None,
        },
    )


@customer_required()
def history_csv(request: HttpRequest, account_id: int) -> HttpResponse:
    if (pin := _pin_first(request)) is not None:
        return pin
    try:
        date_from, date_to = inquiry.typed_period(
            request.GET.get("date_from", ""), request.GET.get("date_to", "")
        )
        found = inquiry.history_csv(request.customer, account_id, date_from=date_from, date_to=date_to)  # type: ignore[attr-defined]
    except DomainError as error:
        return _refused(request, error)
    return csv_response(found)


def csv_response(found: inquiry.CsvFile) -> HttpResponse:
    """The history's CSV as a download (the screens' and the API's)."""
    response = HttpResponse(found.content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{found.name}"'
    return response
