"""corpbank loaddemo: a demo bank on an empty database, and the printed way in.

Only an empty database (no operator, no branch, no contract) gets the demo bank, with its operators
and their published password and authenticator key. On a database that already holds data it only
prints the way in again: it never creates an operator nor changes one, so that it cannot plant the
published credentials on a real bank's database. (It no longer upgrades a demo database made before
operators had roles and a second factor: that meant changing operators; make a fresh one instead.)

A deployment that serves HTTPS (``settings.HTTPS``: production's default) is taken for a real one: there
it plants nothing unless told ``--demo`` (a demo served over TLS); `make run`, the browser tests and the
benchmarks serve plain HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import random
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from corpbank.authentication import services as authentication
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import AccountInput, ContractApplication
from corpbank.calendar import days
from corpbank.certificates import services as certificates
from corpbank.core import audit
from corpbank.ledger import selectors as ledger_selectors
from corpbank.ledger import services as ledger
from corpbank.ledger.models import LedgerAccount, Posting
from corpbank.organizations import services as users
from corpbank.organizations.models import Branch, Contract, CustomerUser
from corpbank.organizations.services import LimitInput
from corpbank.payments import banks, payees
from corpbank.payments.models import Payee
from corpbank.tokens import otp
from corpbank.tokens import services as tokens

# (login name, display name, role): one enters, the other approves, and two administrators manage the
# operators (one enters, the other approves: 職員管理 is four-eyes too).
OPERATORS = [
    ("clerk1", "窓口 一郎", Operator.Role.CLERK),
    ("clerk2", "承認 二郎", Operator.Role.APPROVER),
    ("admin1", "管理 三郎", Operator.Role.ADMIN),
    ("admin2", "管理 四郎", Operator.Role.ADMIN),
]
# The demo operators' authenticator app: one published key, like the demo tokens' seed, so that anybody
# can print the codes (oathtool, or any authenticator app from the printed URI). A real operator's key
# is made at the first login and shown once.
DEMO_OPERATOR_SEED = b"corpbank-demo-op-key"
# Demo tokens share one published seed, so that anybody can print their codes (oathtool or the
# `corpbank softtoken` app); a real token's seed is never shown anywhere.
DEMO_SEED = b"corpbank-demo-token-seed"
DEMO_TOKENS = {"master": "DEMO0000001", "general": "DEMO0000002", "spare": "DEMO0000003"}
DEMO = {
    "operator_password": "Demo1oper",
    "master_login_id": "master01",
    "master_password": "Demo1login",
    "master_confirmation": "Demo1confirm",
    "general_login_id": "staff01",
    "general_password": "Init1login",
    "general_confirmation": "Init1confirm",
    "software_token_master_login_id": "phone01",
    "certificate_master_login_id": "cert01",
}
# Other customers of the demo bank: same-bank transfers go to them, members' dues come from them.
DEMO_OTHER_CUSTOMERS = [
    ("101", "0000101", "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("101", "0000102", "ｽｽﾞｷ ﾊﾅｺ"),
    ("205", "0000201", "ｶ)ｺｰﾌﾟｼﾖｳｼﾞ"),
]
# The demo master's registered payees (振込先): bank, branch, 普通 account, holder, 登録名.
DEMO_PAYEES = [
    (settings.CORPBANK_BANK_CODE, "101", "0000101", "", "山田 太郎（会計）"),
    (settings.CORPBANK_BANK_CODE, "205", "0000201", "", "コープ商事"),
    ("0001", "001", "2345678", "ﾐﾗｲｼﾖｳｼﾞ(ｶ", "未来商事（みずほ）"),
]
DEMO_PINS = {
    "inquiry_pin": "1111",
    "transfer_pin": "2222",
    "confirmation_pin": "3333",
    "approval_pin": "4444",
}


def at_ten(day: date) -> datetime:
    """10:00 at the bank on ``day``: when the demo's history says each posting was made."""
    return timezone.make_aware(datetime.combine(day, time(10, 0)), timezone.get_current_timezone())


class Command(BaseCommand):
    help = (
        "Load the demo bank: branches, operators, an organization with a master, a general user and "
        "hardware tokens, and an organization that uses software tokens."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo",
            action="store_true",
            help="load the demo bank even though this deployment serves HTTPS (a demo over TLS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.HTTPS and not options["demo"]:
            raise CommandError(
                "corpbank loaddemo: this deployment serves HTTPS, as a real bank's does; the demo's "
                "published passwords and keys are planted only with --demo. Nothing was created."
            )
        if Operator.objects.exists() or Branch.objects.exists() or Contract.objects.exists():
            self.stdout.write(
                "corpbank loaddemo: this database already holds data; nothing was created or changed."
            )
        else:
            self._load()
        self._print_way_in()

    def _load(self) -> None:
        Branch.objects.create(code="101", name="本店営業部")
        Branch.objects.create(code="205", name="駅前支店")
        first, second = self._operators()[:2]
        master = self._organization(
            first,
            second,
            ContractApplication(
                organization_name="コープ製作所労働組合",
                organization_name_kana="ｺｰﾌﾟｾｲｻｸｼﾖﾛｳﾄﾞｳｸﾐｱｲ",
                branch_code="101",
                master_name="組合 太郎",
                accounts=[AccountInput("101", "1", "1234567"), AccountInput("205", "2", "7654321")],
                login_method="password",
                notification_email="ib-contact@coop-union.example",
                pins=DEMO_PINS,
            ),
            DEMO["master_login_id"],
        )
        # Before the OTP application, so that the demo spends none of this minute's codes.
        users.add_general_user(
            master=master,
            factors={"confirmation_password": DEMO["master_confirmation"]},
            login_id=DEMO["general_login_id"],
            name="経理 花子",
            login_password=DEMO["general_password"],
            confirmation_password=DEMO["general_confirmation"],
            permissions=["inquiry", "single_transfer"],
            limits=[LimitInput("single_transfer", 1_000_000, 3_000_000)],
        )
        self._tokens(first, second, master)
        # A second organization whose OTP application is for software tokens (R-E9): its master issues
        # a token on the PC and sets up the phone app (`corpbank softtoken`) or any authenticator app.
        phone_master = self._organization(
            first,
            second,
            ContractApplication(
                organization_name="コープ物流従業員組合",
                organization_name_kana="ｺｰﾌﾟﾌﾞﾂﾘﾕｳｼﾞﾕｳｷﾞﾖｳｲﾝｸﾐｱｲ",
                branch_code="205",
                master_name="物流 次郎",
                accounts=[AccountInput("205", "1", "2345678")],
                login_method="password",
                notification_email="ib-contact@coop-logistics.example",
                pins=DEMO_PINS,
            ),
            DEMO["software_token_master_login_id"],
        )
        application = backoffice.enter_software_token_application(first, phone_master.contract_id)
        backoffice.approve(second, application.pk)
        self._certificates(first, second)
        self._ledger()
        self._payees(master)

    def _ledger(self) -> None:
        """The bank's internal accounts, three other customers of the bank (so that same-bank transfers
        have somewhere to go), and three months of history on the organizations' accounts: their
        opening balances, members' dues coming in, payments going out with their fees."""
        today = days.today()
        calendar = days.Calendar(today, days=120)
        internal = {
            purpose: LedgerAccount.objects.create(kind=LedgerAccount.Kind.INTERNAL, purpose=purpose)
            for purpose in LedgerAccount.Purpose.values
        }
        others = [
            ledger.open_customer_account(
                branch=Branch.objects.get(code=branch), type="1", number=number, holder=holder
            )
            for branch, number, holder in DEMO_OTHER_CUSTOMERS
        ]
        organizations = list(
            LedgerAccount.objects.filter(kind=LedgerAccount.Kind.CUSTOMER)
            .exclude(pk__in=[other.pk for other in others])
            .order_by("pk")
        )
        rng = random.Random(2026)  # noqa: S311 - the demo's history, the same every time
        first_day = calendar.on_or_after(today - timedelta(days=92))
        postings = 0

        def post(kind: str, day: date, entries: list[ledger.Entry]) -> None:
            nonlocal postings
            with transaction.atomic():
                ledger.post(kind=kind, value_date=day, entries=entries, posted_at=at_ten(day))
            postings += 1

        cash = internal[LedgerAccount.Purpose.CASH].pk
        for account in [*organizations, *others]:
            opening = 10_000_000 if account in others else rng.choice((1_200_000, 3_000_000, 500_000))
            post(
                Posting.Kind.OPENING,
                first_day,
                [ledger.Entry(account.pk, opening, "ｲｺｳｻﾞﾝﾀﾞｶ"), ledger.Entry(cash, -opening)],
            )
        day = calendar.after(first_day)
        while day < today:
            for account in organizations:
                if day.day in (24, 25, 26) and rng.random() < 0.6:  # members' dues, around the 25th
                    payer = rng.choice(others)
                    amount = rng.choice((3_000, 5_000, 8_000)) * rng.randint(10, 40)
                    post(
                        Posting.Kind.TRANSFER,
                        day,
                        [
                            ledger.Entry(payer.pk, -amount, "ﾌﾘｺﾐ"),
                            ledger.Entry(account.pk, amount, f"ﾌﾘｺﾐ {payer.holder_kana}"),
                        ],
                    )
                elif rng.random() < 0.3:  # a payment to another customer, with its fee
                    payee = rng.choice(others)
                    amount = rng.randint(5, 400) * 1_000
                    fee = 110 if amount < 30_000 else 330
                    if ledger_selectors.balance(account.pk) > amount + fee:
                        post(
                            Posting.Kind.TRANSFER,
                            day,
                            [
                                ledger.Entry(account.pk, -amount - fee, f"ﾌﾘｺﾐ {payee.holder_kana}"),
                                ledger.Entry(payee.pk, amount, "ﾌﾘｺﾐ"),
                                ledger.Entry(internal[LedgerAccount.Purpose.FEE_INCOME].pk, fee, "ﾃｽｳﾘﾖｳ"),
                            ],
                        )
                elif rng.random() < 0.06:  # cash paid in at the counter
                    amount = rng.randint(1, 50) * 10_000
                    post(
                        Posting.Kind.CASH_DEPOSIT,
                        day,
                        [ledger.Entry(account.pk, amount, "ｹﾞﾝｷﾝ"), ledger.Entry(cash, -amount)],
                    )
            day = calendar.after(day)
        with transaction.atomic():
            audit.record(
                "ledger.demo_loaded",
                actor=audit.Actor.system("corpbank loaddemo"),
                details={"postings": postings, "since": first_day.isoformat()},
            )

    def _payees(self, master: CustomerUser) -> None:
        """振込先: two customers of the demo bank (their holder's names the bank's own) and an account at
        another bank, as the master would have registered them (R-G4)."""
        for bank_code, branch_code, number, holder, nickname in DEMO_PAYEES:
            branch = banks.branch(bank_code, branch_code)
            assert branch is not None  # noqa: S101 - the demo's own data
            Payee.objects.create(
                contract_id=master.contract_id,
                bank_code=bank_code,
                bank_name=branch.bank.name,
                branch_code=branch_code,
                branch_name=branch.name,
                type="1",
                number=number,
                holder_kana=payees.holder_of(branch_code, "1", number) or holder,
                nickname=nickname,
            )

    def _operators(self) -> list[Operator]:
        """The demo operators on the fresh demo database, as ``corpbank createoperator`` makes them: the
        published password is theirs (no initial-password change), with the published authenticator
        key, so that the demo's back-office login stays two steps (password, then code)."""
        found = []
        for name, label, role in OPERATORS:
            operator = backoffice.create_operator(
                login_name=name,
                display_name=label,
                password=DEMO["operator_password"],
                role=role,
                command="corpbank loaddemo",
                second_factor_seed=DEMO_OPERATOR_SEED,
            )
            found.append(operator)
        return found

    def _certificates(self, first: Operator, second: Operator) -> None:
        """With a CA passphrase (`make run` makes one), the bank's CA and a third organization of the
        certificate method, whose master may obtain a certificate (R-F1, R-F3)."""
        if not settings.CORPBANK_CA_PASSPHRASE:
            return
        certificates.init_ca(
            common_name="corpbank demo client CA", actor=audit.Actor.system("corpbank loaddemo")
        )
        master = self._organization(
            first,
            second,
            ContractApplication(
                organization_name="コープ建設労働組合",
                organization_name_kana="ｺｰﾌﾟｹﾝｾﾂﾛｳﾄﾞｳｸﾐｱｲ",
                branch_code="101",
                master_name="建設 三郎",
                accounts=[AccountInput("101", "1", "3456789")],
                login_method="certificate",
                notification_email="ib-contact@coop-construction.example",
                pins=DEMO_PINS,
            ),
            DEMO["certificate_master_login_id"],
        )
        issuance = backoffice.enter_master_certificate_issuance(first, master.contract_id)
        backoffice.approve(second, issuance.pk)

    def _organization(
        self, first: Operator, second: Operator, application: ContractApplication, login_id: str
    ) -> CustomerUser:
        """A contract entered and approved in the back office, and its master's first registration."""
        entered = backoffice.enter_contract_registration(first, application)
        letter = backoffice.approve(second, entered.pk).letter
        if letter is None:
            raise RuntimeError("registering a contract always issues a letter")
        return authentication.register_master(
            contract_number=letter.contract_number,
            initial_password=letter.initial_password,
            login_id=login_id,
            login_password=DEMO["master_password"],
            login_password_again=DEMO["master_password"],
            confirmation_password=DEMO["master_confirmation"],
            confirmation_password_again=DEMO["master_confirmation"],
        )

    def _tokens(self, first: Operator, second: Operator, master: CustomerUser) -> None:
        """The OTP application approved, three demo tokens shipped, the master's registered (with the
        previous minute's code, so that this minute's code is still free for the visitor)."""
        for serial in DEMO_TOKENS.values():
            tokens.add_to_stock(serial=serial, seed=DEMO_SEED, actor=audit.Actor.system("corpbank loaddemo"))
        for entered in (
            backoffice.enter_otp_application(first, master.contract_id),
            backoffice.enter_token_shipment(first, master.contract_id, list(DEMO_TOKENS.values())),
        ):
            backoffice.approve(second, entered.pk)
        previous_minute = otp.totp(DEMO_SEED, otp.now_seconds() - 60)
        tokens.register_for_user(user=master, serial=DEMO_TOKENS["master"], code=previous_minute)

    def _print_way_in(self) -> None:
        master = (
            CustomerUser.objects.filter(login_id=DEMO["master_login_id"]).select_related("contract").first()
        )
        contract = master.contract.number if master else "?"
        url = os.environ.get("CORPBANK_DEMO_URL", "http://127.0.0.1:8000")
        operator_key = base64.b32encode(DEMO_OPERATOR_SEED).decode().rstrip("=")
        pins = DEMO_PINS
        operator_uri = (
            f"otpauth://totp/corpbank-demo?secret={operator_key}&issuer=corpbank-demo&digits=6&period=30"
        )
        self.stdout.write(
            f"""
corpbank demo bank — {url}/
  Customer login   {url}/login
    master user    login ID {DEMO["master_login_id"]}  password {DEMO["master_password"]}
                   confirmation password {DEMO["master_confirmation"]}  (contract {contract})
    general user   login ID {DEMO["general_login_id"]}  initial passwords {DEMO["general_password"]}
                   / {DEMO["general_confirmation"]} (replaced at first login)
  One-time passwords (the master's token {DEMO_TOKENS["master"]}; {DEMO_TOKENS["general"]} and
  {DEMO_TOKENS["spare"]} await registration on the ワンタイムパスワード利用登録 screen):
    .venv/bin/corpbank softtoken code --seed-hex {DEMO_SEED.hex()}
    (or: oathtool --totp -s 60 -d 6 {DEMO_SEED.hex()})
  Software tokens  login ID {DEMO["software_token_master_login_id"]}, passwords as above:
    ワンタイムパスワード申請 ≫ トークン発行 shows a service ID and a user ID; set up the phone app with
    .venv/bin/corpbank softtoken enrol --url {url} \\
        --service-id {settings.CORPBANK_SOFTTOKEN_SERVICE_ID} --user-id USER_ID
    (it asks for the activation password), or open {url}/softtoken/ for a QR code; then
    .venv/bin/corpbank softtoken code gives the code for ワンタイムパスワード利用開始.
  Certificates     login ID {DEMO["certificate_master_login_id"]}, passwords as above (certificate method):
    obtain the certificate at {url}/certificate/obtain, import the .p12 into the browser, then
    .venv/bin/corpbank serve --tls --bind 127.0.0.1:8443  and log in at https://127.0.0.1:8443/login
  Back office      {url}/backoffice/login
    operators      clerk1 (受付担当: enters), clerk2 (承認者: approves), admin1 and admin2 (管理者:
                   職員管理, one enters and the other approves), password {DEMO["operator_password"]},
                   then the one-time password of their authenticator app (demo key, 30-second TOTP):
    oathtool --totp -b {operator_key}
    (or add it to an authenticator app: {operator_uri})
  振込振替         PINs: transfer {pins["transfer_pin"]}, confirmation {pins["confirmation_pin"]}, \
inquiry (明細照会) {pins["inquiry_pin"]};
                   an ad-hoc payee (都度指定) also asks the one-time password. Same-day transfers until
                   the cut-off (15:00 on business days); later ones wait for `corpbank worker`, which
                   make run starts beside the server.
  Demo passwords are for this demo database only.
"""
        )
