"""口座の追加 (issue 14 item 8, R-A2): an account added to an existing contract on the customer's paper
form, four-eyes through the approval engine. On approval the account becomes the contract's (ご契約口座:
inquiry, the paying account of transfers) and the embedded core banking opens it, in the organization's
kana name, if it does not hold it yet."""

from __future__ import annotations

import dataclasses

from django.utils.translation import gettext as _

from corpbank.approvals import engine
from corpbank.approvals.models import PendingAction
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services.details import choice, row
from corpbank.backoffice.services.paper import PaperProcedure, contract_of, enter
from corpbank.core import audit, text
from corpbank.core.errors import Conflict, ValidationFailed
from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger
from corpbank.organizations.models import Account, Branch
from corpbank.payments import zengin


@dataclasses.dataclass(frozen=True)
class AccountOpening:
    contract_id: int
    branch_code: str
    type: str
    number: str


def same_name(one: str, other: str) -> bool:
    """Two kana names the same but for spaces and the long vowel's two spellings (ｰ, -)."""

    def plain(name: str) -> str:
        return zengin.conventional(text.half_width_kana(name)).replace(" ", "")

    return plain(one) == plain(other)


def _taken(branch: Branch, type: str, number: str, organization_kana: str) -> str | None:
    """Why the account cannot be added, or None: another contract's, closed, or held by the bank in a
    name that is not the organization's (someone else's money)."""
    if Account.objects.filter(branch=branch, type=type, number=number).exists():
        return _("この口座はすでにいずれかの契約に登録されています。")
    held = ledger_selectors.customer_account(branch.pk, type, number)
    if held is not None and held.closed_at is not None:
        return _("この口座は解約済みです。")
    if held is not None and not same_name(held.holder_kana, organization_kana):
        return _("この口座の名義（%(holder)s）はご契約の団体名（%(organization)s）と一致しません。") % {
            "holder": held.holder_kana,
            "organization": organization_kana,
        }
    return None


class AddAccount(PaperProcedure[AccountOpening]):
    """口座の追加: one account (branch, 科目, 7-digit number) becomes the contract's."""

    kind = "add_account"

    def check(self, request: AccountOpening) -> engine.Entry:
        contract = contract_of(request.contract_id)
        branch_code, number = text.half_width(request.branch_code), text.half_width(request.number)
        type = text.half_width(request.type)
        branch = Branch.objects.filter(code=branch_code).first()
        if branch is None or not Account.well_formed(type, number):
            raise ValidationFailed(
                _("入力内容をご確認ください。"),
                fields={"account": _("口座（店番3桁・科目・口座番号7桁）をご確認ください。")},
            )
        reason = _taken(branch, type, number, contract.organization.name_kana)
        if reason is not None:
            raise ValidationFailed(_("入力内容をご確認ください。"), fields={"account": reason})
        return engine.Entry(
            contract=contract, payload={"branch_code": branch.code, "type": type, "number": number}
        )

    def summary(self, request: AccountOpening, entry: engine.Entry) -> str:
        payload = entry.payload
        return _("口座の追加（%(account)s）") % {
            "account": f"{payload['branch_code']} {choice(Account.Type, payload['type'])} {payload['number']}"
        }

    def details(self, action: PendingAction) -> list[engine.Detail]:
        payload = action.payload
        branch = Branch.objects.filter(code=payload["branch_code"]).first()
        held = (
            ledger_selectors.customer_account(branch.pk, payload["type"], payload["number"])
            if branch
            else None
        )
        return [
            row("branch_code", _("店舗"), f"{payload['branch_code']} {branch.name if branch else ''}"),
            row("type", _("科目"), choice(Account.Type, payload["type"])),
            row("number", _("口座番号"), payload["number"]),
            row(
                "holder",
                _("口座名義"),
                held.holder_kana if held else _("（新規に開設します：団体名のカナ）"),
            ),
        ]

    def execute(self, action: PendingAction, actor: audit.Actor) -> None:
        contract = contract_of(action.contract_id)
        payload = action.payload
        branch = Branch.objects.get(code=payload["branch_code"])
        reason = _taken(branch, payload["type"], payload["number"], contract.organization.name_kana)
        if reason is not None:
            raise Conflict(reason + _("この申込は却下してください。"))
        Account.objects.create(
            contract=contract, branch=branch, type=payload["type"], number=payload["number"]
        )
        opened = False
        if ledger_selectors.customer_account(branch.pk, payload["type"], payload["number"]) is None:
            ledger.open_customer_account(
                branch=branch,
                type=payload["type"],
                number=payload["number"],
                holder=contract.organization.name_kana,
            )
            opened = True
        audit.record(
            "contract.account_added",
            actor=actor,
            contract_id=contract.pk,
            details={
                "action_id": action.pk,
                "account": f"{branch.code}-{payload['type']}-{payload['number']}",
                "accounts_opened": [f"{branch.code}-{payload['type']}-{payload['number']}"] if opened else [],
            },
        )


ADD_ACCOUNT = engine.register(AddAccount())


def enter_account_opening(
    operator: Operator, contract_id: int, *, branch_code: str, type: str, number: str, ip_address: str = ""
) -> PendingAction:
    """口座の追加 on the paper form; a second operator approves it."""
    return enter(
        ADD_ACCOUNT, operator, AccountOpening(contract_id, branch_code, type, number), ip_address=ip_address
    )
