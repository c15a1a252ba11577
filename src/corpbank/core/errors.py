"""Errors the domain raises: a stable machine-readable code, a message in the user's language, and the
HTTP status the API answers with. The web UI and the API render the same error."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _


class DomainError(Exception):
    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(DomainError):
    code = "validation_failed"
    http_status = 422


class FactorInputFailed(ValidationFailed):
    """An operation's factor left empty or not in its form (a one-time password that is not digits),
    counted against nobody. Its fields are the factors' names, as the screens' inputs are named; the
    API, whose factors come in the body's ``factors`` object, names them ``factors.<name>``."""


class InvalidCredentials(DomainError):
    """Deliberately vague: never says which factor was wrong, nor whether a login ID exists (R-C6)."""

    code = "invalid_credentials"
    http_status = 401

    def __init__(self) -> None:
        super().__init__(_("ログインIDまたはパスワードに誤りがあります。"))


class FactorsRejected(DomainError):
    """A wrong confirmation password, PIN or OTP for an operation, never saying which (R-C6)."""

    code = "factors_rejected"
    http_status = 403

    def __init__(self) -> None:
        super().__init__(_("入力された認証情報に誤りがあります。"))


class LockedOut(DomainError):
    code = "locked_out"
    http_status = 423

    def __init__(self, until: datetime) -> None:
        local = timezone.localtime(until)
        super().__init__(
            _(
                "連続して入力を誤ったため、%(until)s までご利用いただけません（ロックアウト）。"
                "この時刻を過ぎると、再びご利用いただけます。"
            )
            % {"until": date_format(local, "Y/m/d H:i")}
        )
        self.until = until


class Suspended(DomainError):
    code = "suspended"
    http_status = 423

    def __init__(self, *, master: bool) -> None:
        if master:
            message = _(
                "利用停止中です。マスターユーザの利用停止の解除には書面でのお手続きが必要です。"
                "お取引店またはヘルプデスクにご連絡ください。"
            )
        else:
            message = _("利用停止中です。マスターユーザに利用停止の解除をご依頼ください。")
        super().__init__(message)


class ContractNotActive(DomainError):
    code = "contract_not_active"
    http_status = 403


class Forbidden(DomainError):
    code = "forbidden"
    http_status = 403

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("この操作を行う権限がありません。"))


class NotFound(DomainError):
    code = "not_found"
    http_status = 404

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("対象が見つかりません。"))


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class TokenSuspended(DomainError):
    """R-C4: a token stopped after too many wrong OTPs; who lifts it depends on whose token it is."""

    code = "token_suspended"
    http_status = 423

    def __init__(self, *, master: bool) -> None:
        if master:
            message = _(
                "ワンタイムパスワードの入力誤りが所定の回数に達したため、パスワード生成機が利用停止になりました。"
                "マスターユーザが利用しているパスワード生成機の利用停止の解除には、書面でのお手続きが必要です。"
            )
        else:
            message = _(
                "ワンタイムパスワードの入力誤りが所定の回数に達したため、パスワード生成機が利用停止になりました。"
                "マスターユーザに「管理≫利用者管理≫ワンタイムパスワードの管理≫ワンタイムパスワードの利用停止解除」を"
                "ご依頼ください。"
            )
        super().__init__(message)


class TokenRegistrationRequired(DomainError):
    """The operation needs an OTP and the user has no token in use (R-E7)."""

    code = "token_registration_required"
    http_status = 403


class WrongAnswer(DomainError):
    """A wrong answer to the additional authentication's question (counted by the lockout, R-D2)."""

    code = "wrong_answer"
    http_status = 401

    def __init__(self) -> None:
        super().__init__(_("合言葉の回答に誤りがあります。"))


class AdditionalAuthExpired(DomainError):
    """The question belongs to a login that has ended: log in again."""

    code = "additional_auth_expired"
    http_status = 401

    def __init__(self) -> None:
        super().__init__(
            _("受付中のログインがないか、一定時間が経過しました。ログインをやり直してください。")
        )


class SecretQuestionsRequired(DomainError):
    """The user has no secret questions yet and registers them first (R-D1)."""

    code = "secret_questions_required"
    http_status = 403


class CertificateRequired(DomainError):
    """A contract of the certificate method logs in only from a PC with its certificate (R-F1)."""

    code = "certificate_required"
    http_status = 403

    def __init__(self) -> None:
        super().__init__(
            _(
                "電子証明書方式のご契約です。電子証明書を取得したパソコンから、"
                "電子証明書を選択してログインしてください。"
            )
        )
