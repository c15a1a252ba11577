"""Risk-based additional authentication, 追加認証 (R-D1–R-D3).

Each user registers three secret questions and answers (合言葉) at the first login. A login from an
environment the bank does not recognise must answer one of them, chosen at random, before the session
is established; a recognised environment is not asked. An environment is recognised when the browser
presents the device cookie of an environment where this user answered a question or registered the
questions, and the environment still looks as it did then:

- the browser family (Chrome, Firefox, Edge, Safari …, from the User-Agent; not its version),
- the operating system family (Windows, Mac OS X, iOS, Android, Linux …; not its version),
- the languages the browser asks for (Accept-Language: the tags in order, without weights),
- the network: the client address's /24 for IPv4, /48 for IPv6 (another provider, another office).

The device cookie holds a random device ID, signed with the server's secret key; it is long-lived and
HttpOnly. A missing, altered or foreign cookie, or any one change above, asks a question (seeds 001
Q14 and 002). Wrong answers go through the one lockout mechanism, as the user's secret of kind
secret_answer (R-C1). Answers are normalised before hashing (``normalize_answer``)."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import secrets
import unicodedata
from datetime import datetime, timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ua_parser import parse as parse_user_agent

from corpbank.authentication.models import KnownEnvironment, Question, SecretQuestion
from corpbank.authentication.selectors import KnownEnvironmentRow
from corpbank.authorization.operations import Operation, authorized
from corpbank.core import audit
from corpbank.core.errors import Conflict, ValidationFailed
from corpbank.identity.hashing import hash_secret
from corpbank.identity.models import Secret, SecretKind
from corpbank.organizations.models import CustomerUser
from corpbank.organizations.selectors import general_user_of

QUESTIONS_PER_USER = 3
ANSWER_LENGTH = (2, 30)
DEVICE_COOKIE = "corpbank_device"
DEVICE_COOKIE_MAX_AGE = timedelta(days=400)  # the longest a browser keeps a cookie
_DEVICE_SALT = "corpbank.device"
PARTS = ("browser", "os", "languages", "network")


def normalize_answer(text: str) -> str:
    """One answer, however it is typed: NFKC (full-width letters and digits become half-width,
    half-width katakana full-width), case folded, every space removed (surrounding and inner,
    the ideographic space too)."""
    # Repeated until nothing changes: removing a space can leave a combining mark that composes with
    # the letter before it, and case folding can decompose (found by hypothesis).
    value = text
    for _attempt in range(5):
        folded = "".join(unicodedata.normalize("NFKC", value).casefold().split())
        if folded == value:
            break
        value = folded
    return value


@dataclasses.dataclass(frozen=True)
class Environment:
    """What the bank sees of the browser at a login. ``device_id`` is empty without a valid cookie."""

    device_id: str
    browser: str
    os: str
    languages: str
    network: str

    @classmethod
    def of(
        cls, *, user_agent: str, accept_language: str, ip_address: str, device_cookie: str = ""
    ) -> Environment:
        browser, os = _families(user_agent[:1000])
        return cls(
            device_id=device_id_from_cookie(device_cookie),
            browser=browser,
            os=os,
            languages=_languages(accept_language)[:200],
            network=_network(ip_address),
        )


@functools.lru_cache(maxsize=1024)
def _families(user_agent: str) -> tuple[str, str]:
    """The browser's and the OS's family. ua-parser caches too, but this runs on every login right
    after the previous login's Argon2id has emptied the CPU's caches, where ua-parser's own cache
    lookup cost about 0.4 ms of CPU (bench/login.py); a C-level LRU lookup touches far less memory."""
    parsed = parse_user_agent(user_agent)
    return (
        (parsed.user_agent.family if parsed.user_agent else "Other")[:60],
        (parsed.os.family if parsed.os else "Other")[:60],
    )


# A caller that says nothing of the environment is treated as an unrecognised one.
UNKNOWN = Environment("", "", "", "", "")


def _languages(header: str) -> str:
    tags = [item.split(";")[0].strip().lower() for item in header.split(",")]
    return ",".join(tag for tag in tags if tag)


def _network(ip_address: str) -> str:
    try:
        address = ipaddress.ip_address(ip_address.strip())
    except ValueError:
        return ""
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def device_cookie_value(device_id: str) -> str:
    return signing.dumps(device_id, salt=_DEVICE_SALT, compress=False)


def device_id_from_cookie(value: str) -> str:
    if not value:
        return ""
    try:
        device_id = signing.loads(value, salt=_DEVICE_SALT, max_age=DEVICE_COOKIE_MAX_AGE)
    except signing.BadSignature:
        return ""
    return device_id if isinstance(device_id, str) and len(device_id) <= 64 else ""


@dataclasses.dataclass(frozen=True)
class Challenge:
    """The question a login must answer, and why the environment was not recognised."""

    position: int
    question: str
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return str(Question(self.question).label)


def challenge_for(
    user: CustomerUser, environment: Environment, known: KnownEnvironmentRow | None
) -> Challenge | None:
    """None when the environment is recognised; else one of the user's questions at random. A user
    without questions yet is not asked: the questions are registered first (R-D1). ``known`` is the
    environment of the browser's device ID the user is recognised from, as the login read it with the
    user's passwords (``selectors.login_secrets``)."""
    reasons: tuple[str, ...] = ("cookie",)
    if environment.device_id and known is not None:
        seen = (known.browser, known.os, known.languages, known.network)
        reasons = tuple(
            part for part, value in zip(PARTS, seen, strict=True) if getattr(environment, part) != value
        )
        if not reasons:
            now = timezone.now()
            if now - known.last_seen_at > timedelta(hours=1):  # written at most hourly
                KnownEnvironment.objects.filter(pk=known.id).update(last_seen_at=now)
            return None
    questions = list(SecretQuestion.objects.filter(user=user).values_list("position", "question"))
    if not questions:
        return None
    position, question = secrets.choice(questions)
    return Challenge(position, question, reasons)


def remember(user: CustomerUser, environment: Environment, now: datetime | None = None) -> str:
    """The environment is now recognised for this user (inside the act's transaction). Returns the
    device ID for the cookie: the browser's own, or a new one."""
    now = now or timezone.now()
    device_id = environment.device_id or secrets.token_urlsafe(24)
    KnownEnvironment.objects.update_or_create(
        user=user,
        device_id=device_id,
        defaults={
            "browser": environment.browser,
            "os": environment.os,
            "languages": environment.languages,
            "network": environment.network,
            "last_seen_at": now,
        },
        create_defaults={
            "browser": environment.browser,
            "os": environment.os,
            "languages": environment.languages,
            "network": environment.network,
            "recognised_at": now,
            "last_seen_at": now,
        },
    )
    return device_id


def has_questions(user: CustomerUser) -> bool:
    return SecretQuestion.objects.filter(user=user).exists()


def register_questions(
    *,
    user: CustomerUser,
    pairs: list[tuple[str, str]],
    environment: Environment,
    ip_address: str = "",
) -> str:
    """合言葉の登録 (R-D1): three different questions, each with its answer. The environment where they
    are registered is recognised from now on; returns its device ID for the cookie."""

    problems: dict[str, str] = {}
    if len(pairs) != QUESTIONS_PER_USER:
        raise ValidationFailed(
            _("入力内容をご確認ください。"),
            fields={
                "questions": _("異なる質問を%(count)dつ選び、それぞれの回答を入力してください。")
                % {"count": QUESTIONS_PER_USER}
            },
        )
    seen: set[str] = set()
    normalized = []
    for position, (question, answer) in enumerate(pairs, start=1):
        if question not in Question.values:
            problems[f"question_{position}"] = _("質問を選択してください。")
        elif question in seen:
            problems[f"question_{position}"] = _("異なる質問を選択してください。")
        seen.add(question)
        value = normalize_answer(answer)
        if not ANSWER_LENGTH[0] <= len(value) <= ANSWER_LENGTH[1]:
            problems[f"answer_{position}"] = _("回答は%(min)d文字以上%(max)d文字以内で入力してください。") % {
                "min": ANSWER_LENGTH[0],
                "max": ANSWER_LENGTH[1],
            }
        normalized.append((position, question, value))
    if problems:
        raise ValidationFailed(_("入力内容をご確認ください。"), fields=problems)
    hashes = [(position, question, hash_secret(value)) for position, question, value in normalized]
    with transaction.atomic(durable=True):
        if SecretQuestion.objects.select_for_update().filter(user=user).exists():
            raise Conflict(_("追加認証の合言葉は登録済みです。"))
        for position, question, hashed in hashes:
            stored = Secret.objects.create(
                principal_id=user.principal_id, kind=SecretKind.SECRET_ANSWER, hash=hashed
            )
            SecretQuestion.objects.create(user=user, position=position, question=question, answer=stored)
        device_id = remember(user, environment)
        audit.record(
            "secret_questions.registered",
            actor=audit.Actor.customer(user, ip_address),
            subject_user_id=user.pk,
            contract_id=user.contract_id,
            details={"questions": [question for _, question, _ in hashes]},
        )
    return device_id


def reset(user: CustomerUser, *, actor: audit.Actor, reason: str) -> None:
    """追加認証(合言葉認証)の初期化 (inside the act's transaction, R-D3): the questions, their answers
    and the recognised environments go; the user registers new questions at the next login."""
    Secret.objects.filter(principal_id=user.principal_id, kind=SecretKind.SECRET_ANSWER).delete()
    KnownEnvironment.objects.filter(user=user).delete()
    audit.record(
        "secret_questions.reset",
        actor=actor,
        subject_user_id=user.pk,
        contract_id=user.contract_id,
        details={"reason": reason},
    )


def reset_by_master(
    *, master: CustomerUser, factors: dict[str, str], user_id: int, ip_address: str = ""
) -> None:
    """The master resets a general user's questions (R-D3); the master's own go through the bank."""

    user = general_user_of(master, user_id)
    if not has_questions(user):
        raise Conflict(_("この利用者は追加認証の合言葉を登録していません。"))
    authorized(
        Operation.RESET_SECRET_QUESTIONS,
        master,
        factors,
        ip_address,
        lambda: reset(user, actor=audit.Actor.customer(master, ip_address), reason="master"),
    )
