"""The audit log in the bank's words (R-I3): what each event is called on the screens, the group it is
filtered by, whether it tells of a success, a failure or a refusal, and what its details are called.

One table for every screen that shows an event: the customer's login history and the bank's audit
search. Every event name recorded anywhere has its row here (a test collects them from the sources);
an event of an unknown name still shows, under its code, rather than failing the screen. Labels are
Japanese message ids, English through the catalogue."""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Outcome(enum.StrEnum):
    """結果: what the event says of the act it records."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a wrong secret, an unknown login ID
    REFUSED = "refused"  # not evaluated or not allowed: locked, contract stopped, code already used
    ALERT = "alert"  # a protective measure took effect: a lockout, a suspension, a loss

    @property
    def label(self) -> Promise:
        return OUTCOME_LABELS[self]


OUTCOME_LABELS: dict[Outcome, Promise] = {
    Outcome.SUCCEEDED: _("正常"),
    Outcome.FAILED: _("失敗"),
    Outcome.REFUSED: _("拒否"),
    Outcome.ALERT: _("注意"),
}


@dataclasses.dataclass(frozen=True)
class Group:
    key: str
    label: Promise


@dataclasses.dataclass(frozen=True)
class EventLabel:
    label: Promise
    group: Group
    outcome: Outcome = Outcome.SUCCEEDED


AUTHENTICATION = Group("authentication", _("ログイン・認証"))
USERS = Group("users", _("利用者の登録・変更"))
CONTRACTS = Group("contracts", _("契約"))
PROCEDURES = Group("procedures", _("書面手続（受付・承認）"))
TOKENS = Group("tokens", _("ワンタイムパスワード"))
CERTIFICATES = Group("certificates", _("電子証明書"))
BANK = Group("bank", _("事務センター・システム"))
MONEY = Group("money", _("照会・入出金"))

GROUPS: tuple[Group, ...] = (AUTHENTICATION, USERS, CONTRACTS, PROCEDURES, TOKENS, CERTIFICATES, MONEY, BANK)

EVENTS: dict[str, EventLabel] = {
    # ログイン・認証
    "login.succeeded": EventLabel(_("ログイン"), AUTHENTICATION),
    "login.unknown_login_id": EventLabel(_("未登録のログインIDでのログイン"), AUTHENTICATION, Outcome.FAILED),
    "login.unknown_login_id_locked": EventLabel(
        _("未登録のログインIDのロックアウト"), AUTHENTICATION, Outcome.ALERT
    ),
    "login.unknown_login_id_suspended": EventLabel(
        _("未登録のログインIDの利用停止"), AUTHENTICATION, Outcome.ALERT
    ),
    "login.unknown_login_id_refused_while_locked": EventLabel(
        _("ロックアウト中の未登録のログインIDでのログイン"), AUTHENTICATION, Outcome.REFUSED
    ),
    "operator.unknown_login_name": EventLabel(
        _("未登録の職員ログイン名でのログイン"), AUTHENTICATION, Outcome.FAILED
    ),
    "operator.unknown_login_name_locked": EventLabel(
        _("未登録の職員ログイン名のロックアウト"), AUTHENTICATION, Outcome.ALERT
    ),
    "operator.unknown_login_name_suspended": EventLabel(
        _("未登録の職員ログイン名の利用停止"), AUTHENTICATION, Outcome.ALERT
    ),
    "operator.unknown_login_name_refused_while_locked": EventLabel(
        _("ロックアウト中の未登録の職員ログイン名でのログイン"), AUTHENTICATION, Outcome.REFUSED
    ),
    "login.refused_contract_not_active": EventLabel(
        _("ログインの拒否（契約が利用中ではない）"), AUTHENTICATION, Outcome.REFUSED
    ),
    "login.refused_certificate_required": EventLabel(
        _("ログインの拒否（電子証明書が必要）"), AUTHENTICATION, Outcome.REFUSED
    ),
    "login.additional_auth_required": EventLabel(
        _("追加認証（合言葉）の要求"), AUTHENTICATION, Outcome.ALERT
    ),
    "logout": EventLabel(_("ログアウト"), AUTHENTICATION),
    "secret.accepted": EventLabel(_("パスワード・暗証番号等の確認"), AUTHENTICATION),
    "secret.rejected": EventLabel(_("パスワード・暗証番号等の誤り"), AUTHENTICATION, Outcome.FAILED),
    "secret.spent": EventLabel(_("使用済みのワンタイムパスワード"), AUTHENTICATION, Outcome.REFUSED),
    "secret.refused_while_locked": EventLabel(
        _("ロックアウト・利用停止中の入力"), AUTHENTICATION, Outcome.REFUSED
    ),
    "principal.locked": EventLabel(_("ロックアウト"), AUTHENTICATION, Outcome.ALERT),
    "principal.suspended": EventLabel(_("利用停止"), AUTHENTICATION, Outcome.ALERT),
    "principal.lock_lifted": EventLabel(_("ロックアウト・利用停止の解除"), AUTHENTICATION),
    # 利用者の登録・変更
    "master.registered": EventLabel(_("マスターユーザの初回登録"), USERS),
    "master.initialized": EventLabel(_("マスターユーザのログインID・パスワードの初期化"), USERS),
    "user.passwords_changed": EventLabel(_("パスワードの変更"), USERS),
    "user.added": EventLabel(_("利用者の追加"), USERS),
    "user.changed": EventLabel(_("利用者の登録内容の変更"), USERS),
    "user.deleted": EventLabel(_("利用者の削除"), USERS),
    "user.credentials_reset": EventLabel(_("利用者のパスワードの再設定"), USERS),
    "secret_questions.registered": EventLabel(_("追加認証（合言葉）の登録"), USERS),
    "secret_questions.reset": EventLabel(_("追加認証（合言葉）の初期化"), USERS),
    # 契約
    "contract.registered": EventLabel(_("契約の新規登録"), CONTRACTS),
    "contract.account_added": EventLabel(_("口座の追加"), CONTRACTS),
    "contract.emergency_stopped": EventLabel(_("緊急停止"), CONTRACTS, Outcome.ALERT),
    "contract.emergency_stop_lifted": EventLabel(_("緊急停止の解除"), CONTRACTS),
    "contract.pins_changed": EventLabel(_("暗証番号の変更"), CONTRACTS),
    "contract.otp_started": EventLabel(_("ワンタイムパスワードの利用開始"), CONTRACTS),
    "contract.software_tokens_enabled": EventLabel(_("ソフトウェアトークンのお取扱い開始"), CONTRACTS),
    "contract.terminated": EventLabel(_("解約"), CONTRACTS, Outcome.ALERT),
    # 書面手続
    "backoffice.entered": EventLabel(_("書面手続の受付"), PROCEDURES),
    "backoffice.approved": EventLabel(_("書面手続の承認"), PROCEDURES),
    "backoffice.rejected": EventLabel(_("書面手続の却下"), PROCEDURES),
    "backoffice.withdrawn": EventLabel(_("書面手続の取消（受付者）"), PROCEDURES),
    # ワンタイムパスワード
    "token.stocked": EventLabel(_("パスワード生成機の在庫登録"), TOKENS),
    "tokens.imported": EventLabel(_("パスワード生成機の在庫の取込み"), TOKENS),
    "tokens.shipped": EventLabel(_("パスワード生成機の発送"), TOKENS),
    "token.fee_recorded": EventLabel(_("パスワード生成機の手数料"), TOKENS),
    "token.registered": EventLabel(_("ワンタイムパスワードの利用登録"), TOKENS),
    "token.revoked": EventLabel(_("パスワード生成機の失効"), TOKENS),
    "token.reported_lost": EventLabel(_("パスワード生成機の紛失"), TOKENS, Outcome.ALERT),
    "token.renewal_shipped": EventLabel(_("有効期限前の交換用パスワード生成機の発送"), TOKENS),
    "tokens.seed_key_rotated": EventLabel(_("トークン鍵の暗号化キーの更新"), TOKENS),
    "tokens.contract_ended": EventLabel(_("解約によるワンタイムパスワードの失効"), TOKENS),
    "softtoken.issued": EventLabel(_("ソフトウェアトークンの発行"), TOKENS),
    "softtoken.provisioned": EventLabel(_("ソフトウェアトークンのアプリ設定"), TOKENS),
    "softtoken.activated": EventLabel(_("ソフトウェアトークンの利用開始"), TOKENS),
    "softtoken.stopped": EventLabel(_("ソフトウェアトークンの利用停止"), TOKENS, Outcome.ALERT),
    "softtoken.cancelled": EventLabel(_("ソフトウェアトークンのご利用解除"), TOKENS),
    # 電子証明書
    "ca.created": EventLabel(_("認証局の作成"), CERTIFICATES),
    "certificate.issuance_enabled": EventLabel(_("電子証明書の発行許可"), CERTIFICATES),
    "certificate.issued": EventLabel(_("電子証明書の取得"), CERTIFICATES),
    "certificate.verification_required": EventLabel(
        _("電子証明書の取得の本人確認（合言葉・ワンタイムパスワード）の要求"), CERTIFICATES, Outcome.ALERT
    ),
    "certificate.revoked": EventLabel(_("電子証明書の失効"), CERTIFICATES),
    # 事務センター・システム
    "audit.rebased": EventLabel(_("監査ログの連鎖の再設定（別サーバへの復元後）"), BANK, Outcome.ALERT),
    "operator.created": EventLabel(_("職員の登録"), BANK),
    "operator.login": EventLabel(_("職員のログイン"), BANK),
    "operator.role_changed": EventLabel(_("職員の権限の変更"), BANK),
    "operator.deactivated": EventLabel(_("職員の利用停止"), BANK),
    "operator.second_factor_offered": EventLabel(_("職員の認証アプリの登録画面の表示"), BANK),
    "operator.second_factor_installed": EventLabel(_("職員の認証アプリの登録"), BANK),
    "operator.second_factor_reset": EventLabel(_("職員の認証アプリの再登録"), BANK),
    "operators.seed_key_rotated": EventLabel(_("職員の認証アプリの鍵の暗号化キーの更新"), BANK),
    "operator.initial_password_changed": EventLabel(_("職員の初期パスワードの変更"), BANK),
    "operator.password_changed": EventLabel(_("職員のパスワードの変更"), BANK),
    "operator.password_reset": EventLabel(_("職員のパスワードの再発行"), BANK),
    "operator.expired_password_changed": EventLabel(_("職員の有効期限切れのパスワードの変更"), BANK),
    "operator.initial_password_half_shown": EventLabel(_("職員の初期パスワード（前半）の表示"), BANK),
    "operator_procedure.entered": EventLabel(_("職員の手続の受付"), BANK),
    "operator_procedure.approved": EventLabel(_("職員の手続の承認"), BANK),
    "operator_procedure.rejected": EventLabel(_("職員の手続の却下"), BANK),
    "operator_procedure.withdrawn": EventLabel(_("職員の手続の取消（受付者）"), BANK),
    "ledger.demo_loaded": EventLabel(_("デモ用の取引履歴の作成"), BANK),
    # 照会・入出金
    "inquiry.authorized": EventLabel(_("照会用暗証番号の確認"), MONEY),
    "ledger.cash_deposit": EventLabel(_("窓口入金"), MONEY),
    "ledger.cash_withdrawal": EventLabel(_("窓口出金"), MONEY),
    "payee.registered": EventLabel(_("振込先の登録"), MONEY),
    "payee.changed": EventLabel(_("振込先の変更"), MONEY),
    "payee.deleted": EventLabel(_("振込先の削除"), MONEY),
    "transfer.accepted": EventLabel(_("振込振替の受付"), MONEY),
    "transfer.executed": EventLabel(_("振込振替の実行"), MONEY),
    "transfer.failed": EventLabel(_("振込振替の不能"), MONEY, Outcome.FAILED),
    "transfer.cancelled": EventLabel(_("振込振替の予約取消"), MONEY),
    "transfer.fee_changed": EventLabel(_("振込手数料の変更"), BANK),
    "transfer.outgoing_file_downloaded": EventLabel(_("他行あて振込ファイルのダウンロード"), BANK),
    "calendar.closed_day_added": EventLabel(_("臨時休業日の登録"), BANK),
    "calendar.closed_day_removed": EventLabel(_("臨時休業日の取消"), BANK),
    "calendar.settings_changed": EventLabel(_("締切時刻・予約可能日数の変更"), BANK),
}

# Where the kind of secret changes what a person calls the event: a wrong login password is a failed
# login (the customer's login history shows exactly these).
_BY_SECRET_KIND: dict[tuple[str, str], Promise] = {
    ("secret.rejected", "login_password"): _("ログイン失敗"),
    # A token stopped after wrong codes is not the user stopped (the user still logs in).
    ("principal.suspended", "otp"): _("ワンタイムパスワードの利用停止（連続した誤入力）"),
}
# What a secret was typed for, when not a login (details' purpose): 「ログイン失敗」 would read as
# somebody failing to log in.
_BY_PURPOSE: dict[tuple[str, str], Promise] = {
    ("secret.rejected", "password_change"): _("パスワード変更時の現在のパスワードの誤り"),
}

DETAIL_LABELS: dict[str, Promise] = {
    # 振込先・振込振替
    "payee_id": _("振込先番号"),
    "bank_code": _("金融機関コード"),
    "branch_code": _("支店コード"),
    "number": _("口座番号"),
    "holder": _("受取人名"),
    "before": _("変更前"),
    "reception_number": _("振込の受付番号"),
    "source_account_id": _("支払口座"),
    "destination": _("振込先口座"),
    "amount": _("振込金額"),
    "fee": _("手数料"),
    "fee_bearer": _("手数料の負担"),
    "execution_date": _("振込指定日"),
    "band": _("金額区分"),
    "count": _("件数"),
    "total": _("合計金額"),
    "again": _("再作成"),
    "transfers_cancelled": _("取り消した振込予約"),
    "account": _("口座"),
    "accounts_opened": _("開設した口座"),
    "accounts_released": _("登録を解除した口座"),
    "action_id": _("受付番号"),
    "additional_auth": _("追加認証"),
    "floor_event_id": _("封印済みの最後のイベント"),
    "amount_yen": _("金額"),
    "certificates_revoked": _("失効した電子証明書"),
    "changed": _("前回と異なる環境"),
    "consecutive_failures": _("連続誤り回数"),
    "contract_number": _("契約番号"),
    "contract_status": _("契約の状態"),
    "day": _("日付"),
    "entered_by": _("受付職員"),
    "expires_on": _("有効期限"),
    "expiring": _("期限が近いパスワード生成機"),
    "fee_reason": _("発行区分"),
    "file": _("ファイル名"),
    "kind": _("種類"),
    "kinds": _("種類"),
    "limits": _("利用限度額"),
    "lockouts": _("連続ロックアウト回数"),
    "login_id": _("ログインID"),
    "login_name": _("職員ログイン名"),
    "must_change": _("変更が必要なパスワード"),
    "not_after": _("有効期限"),
    "operators": _("職員数"),
    "organization": _("団体名"),
    "otp": _("ワンタイムパスワードの要求"),
    "permissions": _("業務権限"),
    "posting": _("取引番号"),
    "postings": _("取引件数"),
    "previous_transaction_id": _("それまでのトランザクション番号"),
    "principal": _("対象"),
    "purpose": _("用途"),
    "question": _("質問"),
    "questions": _("質問"),
    "reason": _("理由"),
    "registrations_ended": _("終了した利用登録"),
    "replacement": _("交換用パスワード生成機"),
    "role": _("権限"),
    "serial": _("シリアル番号"),
    "since": _("開始日"),
    "serials": _("シリアル番号"),
    "subject": _("名義"),
    "summary": _("内容"),
    "to": _("変更後"),
    "from": _("変更前"),
    "tokens": _("台数"),
    "tokens_revoked": _("失効したトークン"),
    "type": _("種類"),
    "until": _("解除予定日時"),
}


# What the values of some details mean. Reasons are written by the code that records the event, in
# English; the emergency stop's reason is the operator's own words and shows as typed.
_VALUES: dict[tuple[str, str], Promise] = {
    ("changed", "browser"): _("ブラウザ"),
    ("changed", "os"): _("OS"),
    ("changed", "languages"): _("言語設定"),
    ("changed", "network"): _("接続元のネットワーク"),
    ("changed", "cookie"): _("Cookie（初めてのブラウザ、またはCookieの削除）"),
    ("principal", "customer_user"): _("利用者"),
    ("principal", "operator"): _("職員"),
    ("principal", "token"): _("パスワード生成機・ソフトウェアトークン"),
    ("reason", "logout"): _("ログアウト"),
    ("reason", "master"): _("マスターユーザによる操作"),
    ("reason", "credentials reset by master"): _("マスターユーザによるパスワードの再設定"),
    ("reason", "lifted by master"): _("マスターユーザによる解除"),
    ("reason", "token lock lifted by master"): _("マスターユーザによる解除"),
    ("reason", "master initialized on paper"): _("書面手続によるマスターユーザの初期化"),
    ("reason", "superseded"): _("新しい電子証明書の取得"),
    ("reason", "contract_terminated"): _("解約"),
    ("reason", "operator_deactivated"): _("職員の利用停止"),
}
_PAPER_PROCEDURE = re.compile(r"paper procedure #(\d+)")
_OPERATOR = re.compile(r"operator (\S+)")


def value_label(key: str, value: str) -> str:
    """A detail's value in words where it is a code; else the value itself."""
    label = _VALUES.get((key, value))
    return str(label) if label is not None else value


def reason_label(reason: str) -> str:
    if found := _PAPER_PROCEDURE.fullmatch(reason):
        return gettext("書面手続（受付番号 %(id)s）") % {"id": found.group(1)}
    if found := _OPERATOR.fullmatch(reason):
        return gettext("職員 %(login_name)s の解除") % {"login_name": found.group(1)}
    return value_label("reason", reason)


def event_label(action: str, details: Mapping[str, Any] | None = None) -> str:
    """What the event is called; its code when it has no row (never an error)."""
    kind, purpose = (details or {}).get("kind"), (details or {}).get("purpose")
    if isinstance(purpose, str) and (action, purpose) in _BY_PURPOSE:
        return str(_BY_PURPOSE[(action, purpose)])
    if isinstance(kind, str) and (action, kind) in _BY_SECRET_KIND:
        return str(_BY_SECRET_KIND[(action, kind)])
    known = EVENTS.get(action)
    return str(known.label) if known is not None else action


def outcome(action: str) -> Outcome:
    known = EVENTS.get(action)
    return known.outcome if known is not None else Outcome.SUCCEEDED


def detail_label(key: str) -> str:
    label = DETAIL_LABELS.get(key)
    return str(label) if label is not None else key


def events_of(group_key: str) -> list[str]:
    return [action for action, label in EVENTS.items() if label.group.key == group_key]


def choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The 操作の種類 filter: per group, the whole group first, then each event."""
    return [
        (
            str(group.label),
            [
                (f"group:{group.key}", gettext("%(group)s（すべて）") % {"group": group.label}),
                *((action, str(EVENTS[action].label)) for action in events_of(group.key)),
            ],
        )
        for group in GROUPS
    ]


def actions_for(choice: str) -> list[str] | None:
    """The event names a filter choice stands for: a group's, one event's; None if it stands for none."""
    if choice.startswith("group:"):
        found = events_of(choice.removeprefix("group:"))
        return found or None
    return [choice] if choice in EVENTS else None
