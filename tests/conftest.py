"""Shared fixtures: a bank with a branch and two operators, and a registered demo contract.

Everything is built through the services, the way the back office and the master would build it."""

from __future__ import annotations

import contextlib
import dataclasses
import email
import email.message
import email.policy
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any, TypeVar

import argon2
import django.test
import pytest

from corpbank.authentication import risk
from corpbank.authentication import services as authentication
from corpbank.authentication.models import SecretQuestion
from corpbank.backoffice import services as backoffice
from corpbank.backoffice.models import Operator
from corpbank.backoffice.services import AccountInput, ContractApplication
from corpbank.identity import hashing
from corpbank.identity.hashing import hash_secret
from corpbank.identity.models import Secret, SecretKind
from corpbank.organizations import services as users
from corpbank.organizations.models import Branch, Contract, CustomerUser

T = TypeVar("T")
OPERATOR_PASSWORD = "Opera7or!pw"
# Money to move (the payments tests, the screens' and the browser's): tests/money.py.
pytest_plugins = ["tests.money"]

MASTER_LOGIN_ID = "master01"
MASTER_PASSWORD = "Login1pass"
MASTER_CONFIRMATION = "Conf1rmpw"
PINS = {"inquiry_pin": "1111", "transfer_pin": "2222", "confirmation_pin": "3333", "approval_pin": "4444"}


# Argon2id at its smallest: the tests check what is hashed and when, not how slowly. Production
# strength costs 80 ms a hash, and the fixtures hash a dozen secrets per test. Tests of the parameters
# themselves ask for production_argon2 (the marker below).
CHEAP_ARGON2 = argon2.PasswordHasher(
    time_cost=1, memory_cost=8, parallelism=1, hash_len=32, salt_len=16, type=argon2.Type.ID
)
PRODUCTION_ARGON2 = hashing.HASHER


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "production_argon2: hash with production Argon2id parameters (R-B5), not the tests' cheap ones",
    )


@pytest.fixture(scope="session", autouse=True)
def _cheap_argon2() -> Iterator[None]:
    production = hashing.use_hasher(CHEAP_ARGON2)
    yield
    hashing.use_hasher(production)


@pytest.fixture(autouse=True)
def _production_argon2_when_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    """Autouse, so it runs before the test's other fixtures hash anything."""
    if request.node.get_closest_marker("production_argon2") is None:
        yield
        return
    cheap = hashing.use_hasher(PRODUCTION_ARGON2)
    yield
    hashing.use_hasher(cheap)


@pytest.fixture(scope="session", autouse=True)
def _audit_sealer_stopped(django_db_setup: None) -> Iterator[None]:
    """The audit sealer thread ends, and closes its connection, before the test database is dropped."""
    yield
    from corpbank.core import audit

    audit.sealer.stop()


@pytest.fixture(autouse=True)
def _committed_audit_history_cleared(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that commits (transactional_db) leaves audit events and seals (and ledger postings),
    which the append-only triggers keep SQLite's flush from deleting (PostgreSQL's flush truncates,
    which no row trigger sees). On SQLite they are removed here, around the triggers, before the
    flush; the triggers are back before the next test."""
    marker = request.node.get_closest_marker("django_db")
    committing = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not committing:
        yield
        return
    request.getfixturevalue("transactional_db")  # set up first, so flushed after this runs
    yield
    from django.db import connection

    from corpbank.core import audit
    from corpbank.core.db import ensure_sqlite_triggers

    # The sealer thread seals what the test committed and ends: nothing of it runs into the next test
    # (a commit there starts it again).
    audit.sealer.stop()

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        # The audit log and the ledger (legs before the postings and accounts they name).
        for table in ("auditevent", "auditseal", "leg", "posting", "ledgeraccount"):
            for change in ("update", "delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS corpbank_{table}_no_{change}")
        for table in ("auditseal", "auditevent", "leg", "posting", "ledgeraccount"):
            cursor.execute(f"DELETE FROM corpbank_{table}")
    ensure_sqlite_triggers(connection)


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """The language a test's last request activated (an English Accept-Language, say) stays with the
    thread: the next test starts in the default language again, as a new request would."""
    yield
    from django.utils import translation

    translation.deactivate()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL-only tests are skipped on the SQLite leg and run (never skip) on the PostgreSQL leg."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL row locks; runs on the PostgreSQL leg of make test")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def branch(db: None) -> Branch:
    return Branch.objects.create(code="101", name="本店営業部")


# Every test operator's authenticator app (the RFC 6238 test key); operator_code gives its next code.
OPERATOR_TOTP_SEED = b"operator-test-seed-0"


def make_operator(login_name: str, display_name: str = "", role: str = "approver") -> Operator:
    """An operator of the role with the test authenticator app registered (``corpbank createoperator``'s
    way), so that it can log in with operator_code."""
    from corpbank.core import audit

    operator = backoffice.create_operator(
        login_name=login_name, display_name=display_name or login_name, password=OPERATOR_PASSWORD, role=role
    )
    backoffice.install_second_factor(operator, seed=OPERATOR_TOTP_SEED, actor=audit.Actor.system("test"))
    return operator


@pytest.fixture
def operators(db: None) -> tuple[Operator, Operator]:
    """Two approvers (each may enter and approve the other's entries), with their apps registered."""
    return make_operator("clerk1", "窓口 一郎"), make_operator("clerk2", "承認 二郎")


def operator_code(login_name: str) -> str:
    """A code of the operator's test app that the bank accepts now: the clock's own step, or the next
    after the last one accepted (a code is accepted once, and the tests' clock may stand still). Never
    the window's first step: on the real clock a step may end between this and the server's check."""
    from corpbank.backoffice.models import OperatorTotp
    from corpbank.backoffice.services.operators import TOTP_STEP_SECONDS
    from corpbank.tokens import otp

    totp = OperatorTotp.objects.get(operator__login_name=login_name)
    current = otp.time_step(otp.now_seconds(), TOTP_STEP_SECONDS)
    step = current if totp.last_step is None else max(current, totp.last_step + 1)
    return otp.hotp(OPERATOR_TOTP_SEED, step)


def operator_signed_in(client: django.test.Client, login_name: str) -> django.test.Client:
    """The back office's login on ``client``: the password, then the app's code."""
    response = client.post("/backoffice/login", {"login_name": login_name, "password": OPERATOR_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/backoffice/login/second-factor", (
        response.content.decode()
    )
    response = client.post("/backoffice/login/second-factor", {"otp": operator_code(login_name)})
    assert response.status_code == 302 and response["Location"] == "/backoffice/", response.content.decode()
    return client


@dataclasses.dataclass
class Registered:
    contract: Contract
    master: CustomerUser
    initial_password: str


def application(**overrides: object) -> ContractApplication:
    values: dict[str, object] = {
        "organization_name": "コープ労働組合",
        "organization_name_kana": "ｺｰﾌﾟﾛｳﾄﾞｳｸﾐｱｲ",
        "branch_code": "101",
        "master_name": "組合 太郎",
        "accounts": [AccountInput(branch_code="101", type="1", number="1234567")],
        "login_method": "password",
        "pins": dict(PINS),
    }
    values.update(overrides)
    return ContractApplication(**values)  # type: ignore[arg-type]


def register_contract(operators: tuple[Operator, Operator], **overrides: object) -> Registered:
    """Enter and approve a contract; return it with its master awaiting the first registration."""
    entered = backoffice.enter_contract_registration(operators[0], application(**overrides))
    decision = backoffice.approve(operators[1], entered.pk)
    assert decision.letter is not None
    contract = Contract.objects.get(number=decision.letter.contract_number)
    master = CustomerUser.objects.get(contract=contract, role="master")
    return Registered(contract, master, decision.letter.initial_password)


TEST_DEVICE_ID = "django-test-client"
ANSWER = "さくら"  # every test user's answer to each of the three questions
QUESTIONS = ("first_pet", "birthplace", "teacher")


class Client(django.test.Client):
    """Django's test client, in the environment where the fixtures' users registered their secret
    questions (R-D2): the device cookie below, no User-Agent, no Accept-Language, 127.0.0.1.
    ``recognised=False`` is a browser the bank has never seen."""

    def __init__(self, *args: Any, recognised: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if recognised:
            self.cookies[risk.DEVICE_COOKIE] = risk.device_cookie_value(TEST_DEVICE_ID)


@pytest.fixture
def client() -> Client:
    return Client()


def recognised_environment() -> risk.Environment:
    """The environment of the test client (Client above), as the services see it."""
    return risk.Environment.of(
        user_agent="",
        accept_language="",
        ip_address="127.0.0.1",
        device_cookie=risk.device_cookie_value(TEST_DEVICE_ID),
    )


def log_in(**kwargs: Any) -> authentication.LoginOutcome:
    """authentication.log_in from the test client's environment, unless the test names another."""
    kwargs.setdefault("environment", recognised_environment())
    return authentication.log_in(**kwargs)


def register_questions(user: CustomerUser) -> None:
    """The user's three questions (answer ANSWER), registered in the test client's environment."""
    answer_hash = hash_secret(risk.normalize_answer(ANSWER))
    for position, question in enumerate(QUESTIONS, start=1):
        answer = Secret.objects.create(
            principal_id=user.principal_id, kind=SecretKind.SECRET_ANSWER, hash=answer_hash
        )
        SecretQuestion.objects.create(user=user, position=position, question=question, answer=answer)
    risk.remember(user, recognised_environment())


def activate_master(
    registered: Registered, login_id: str = MASTER_LOGIN_ID, *, questions: bool = True
) -> CustomerUser:
    """The master's first registration; with ``questions`` also the secret questions, registered
    from the test client (as at the first login, R-D1)."""
    master = authentication.register_master(
        contract_number=registered.contract.number,
        initial_password=registered.initial_password,
        login_id=login_id,
        login_password=MASTER_PASSWORD,
        login_password_again=MASTER_PASSWORD,
        confirmation_password=MASTER_CONFIRMATION,
        confirmation_password_again=MASTER_CONFIRMATION,
    )
    if questions:
        register_questions(master)
    return master


@pytest.fixture
def registered(branch: Branch, operators: tuple[Operator, Operator]) -> Registered:
    return register_contract(operators)


@pytest.fixture
def master(registered: Registered) -> CustomerUser:
    return activate_master(registered)


@dataclasses.dataclass
class AcrossMigration:
    old: Any  # the models as they were at ``before`` (a migration state's apps)
    forward: Callable[[], Any]  # applies the migrations up to ``after``; returns that state's models


@contextlib.contextmanager
def across_migration(before: str, after: str) -> Iterator[AcrossMigration]:
    """The database migrated back to corpbank's migration ``before``, with that state's models to
    write rows as they were then; ``forward()`` applies the migrations up to ``after``. At the end,
    whatever happened, the database is at the latest migration again, with SQLite's triggers (as after
    every migrate), for the tests that come after. For tests of data migrations (transactional_db)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from corpbank.core.db import ensure_sqlite_triggers

    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("corpbank")

    def migrate(target: str) -> Any:
        executor = MigrationExecutor(connection)
        executor.migrate([("corpbank", target)])
        return executor.loader.project_state([("corpbank", target)]).apps

    try:
        yield AcrossMigration(old=migrate(before), forward=lambda: migrate(after))
    finally:
        MigrationExecutor(connection).migrate(latest)
        ensure_sqlite_triggers(connection)


def all_at_once(count: int, attempt: Callable[[int], T]) -> list[T]:
    """Run ``attempt(i)`` in ``count`` real threads released together by a barrier, each on its own
    database connection (R-C5 tests, on PostgreSQL). Bounded: every wait has a timeout."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    barrier = threading.Barrier(count)

    def one(index: int) -> T:
        try:
            barrier.wait(timeout=30)
            return attempt(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count), timeout=120))


def wait_until_blocked_on_a_lock(timeout: float = 10.0) -> None:
    """Until another connection waits for a lock that this test's connection holds (PostgreSQL's
    pg_blocking_pids: waits of other tests and runs on the same server do not count)."""
    import time

    from django.db import connection

    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(
        f"no connection came to wait for a lock held by this test's connection in {timeout} s"
    )


def wait_for_mail(received: list[email.message.EmailMessage], count: int, timeout: float = 10.0) -> None:
    """The SMTP server receives on its own thread: wait (at most ``timeout`` s) for ``count``
    messages, and fail saying what did arrive if they do not."""
    import time

    deadline = time.monotonic() + timeout
    while len(received) < count:
        if time.monotonic() >= deadline:
            subjects = [message["Subject"] for message in received]
            raise AssertionError(
                f"waited {timeout} s for {count} messages; {len(received)} arrived: {subjects}"
            )
        time.sleep(0.05)


GENERAL_LOGIN_ID = "staff001"
GENERAL_INITIAL = {"login_password": "Init1login", "confirmation_password": "Init1conf"}
# What a general user types on the forced password change of the first login (form and API alike).
GENERAL_FIRST_CHANGE = {
    "current_login_password": "Init1login",
    "current_confirmation_password": "Init1conf",
    "new_login_password": "Mine1login",
    "new_login_password_again": "Mine1login",
    "new_confirmation_password": "Mine1conf",
    "new_confirmation_password_again": "Mine1conf",
}


@pytest.fixture
def general(master: CustomerUser) -> CustomerUser:
    """A general user added by the master, still with the initial passwords, and with the secret
    questions registered from the test client."""
    user = users.add_general_user(
        master=master,
        factors={"confirmation_password": MASTER_CONFIRMATION},
        login_id=GENERAL_LOGIN_ID,
        name="一般",
        **GENERAL_INITIAL,
    )
    register_questions(user)
    return user


TOKEN_SEED = bytes.fromhex("3132333435363738393031323334353637383930")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Django's clock, frozen and moved by the test (OTPs, delays and expiry are checked against it)."""
    from datetime import datetime, timedelta

    now = {"at": datetime(2026, 11, 24, 1, 0, 0, tzinfo=UTC)}
    monkeypatch.setattr("django.utils.timezone.now", lambda: now["at"])

    def move(seconds: float = 0) -> datetime:
        now["at"] += timedelta(seconds=seconds)
        return now["at"]

    return move


def code_now(seed: bytes = TOKEN_SEED) -> str:
    from corpbank.tokens import otp

    return otp.totp(seed, otp.now_seconds())


def ship_tokens(operators: tuple[Operator, Operator], contract: Contract, *serials: str) -> None:
    """Stock tokens with the RFC 6238 seed and ship them to the contract, four-eyes."""
    from corpbank.core import audit
    from corpbank.tokens import services as tokens

    for serial in serials:
        tokens.add_to_stock(serial=serial, seed=TOKEN_SEED, actor=audit.Actor.system("test"))
    entered = backoffice.enter_token_shipment(operators[0], contract.pk, list(serials))
    backoffice.approve(operators[1], entered.pk)


@pytest.fixture
def otp_master(branch: Branch, operators: tuple[Operator, Operator], clock) -> CustomerUser:  # type: ignore[no-untyped-def]
    """The master of a contract that uses OTP, with token HW00000001 shipped but not yet registered."""
    registered = register_contract(operators, otp_required=True)
    ship_tokens(operators, registered.contract, "HW00000001", "HW00000002")
    return activate_master(registered)


@pytest.fixture
def softtoken_master(master: CustomerUser, operators: tuple[Operator, Operator]) -> CustomerUser:
    """The master of a contract whose OTP application for software tokens the bank has registered."""
    entered = backoffice.enter_procedure(operators[0], master.contract_id, "start-software-tokens")
    backoffice.approve(operators[1], entered.pk)
    master.contract.refresh_from_db()
    return master


def code_of_secret(secret_base32: str) -> str:
    """The code a phone app shows now for a base32 seed that provisioning handed out."""
    import base64

    return code_now(base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8)))


@contextlib.contextmanager
def running_smtp_server() -> Iterator[tuple[int, list[email.message.EmailMessage]]]:
    """A real SMTP server (aiosmtpd) on a free port of 127.0.0.1. Yields the port and the list of
    received messages, which fills as mail arrives (on the server's own thread)."""
    from aiosmtpd.controller import Controller

    from tests.servers import on_a_free_port

    received: list[email.message.EmailMessage] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            message["X-Envelope-From"] = envelope.mail_from
            received.append(message)  # type: ignore[arg-type]
            return "250 OK"

    def start(port: int) -> Controller:
        controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        try:
            controller.start()  # OSError(EADDRINUSE) when the port was taken since it was chosen
        except OSError:
            controller.loop.close()  # the failed start leaves its event loop open
            raise
        return controller

    port, controller = on_a_free_port(start)
    try:
        yield port, received
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(settings):  # type: ignore[no-untyped-def]
    """Django's SMTP backend sending to a real SMTP server; yields the received messages."""
    with running_smtp_server() as (port, received):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = False
        yield received


def obtain_certificate(user: CustomerUser, **kwargs: Any) -> Any:
    """The user's certificate issued at once, as the tests' and seeds' bank does it: the customers'
    screens go through authentication.certificate, which checks the factors in the same transaction."""
    from django.db import transaction

    from corpbank.certificates import services as certificates
    from corpbank.core import audit

    with transaction.atomic(durable=True):
        return certificates.issue(user, actor=audit.Actor.customer(user, ""), **kwargs)
