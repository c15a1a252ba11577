"""``corpbank softtoken``: the reference phone app, on the command line (R-E9).

It does what the bank's app does on the phone: set-up (初期設定) with the service ID, the user ID and
the activation password (利用開始パスワード), which fetches the seed once from the bank; then it shows
the one-time password, which changes every minute. It also prints the codes of a token whose seed you
hold (the demo bank's token, for instance), like ``oathtool --totp``.

It imports neither Django nor the bank's settings: it talks to the bank over HTTP(S) only.

    corpbank softtoken enrol --url https://ib.example.jp --service-id CORPBANK01 --user-id 0123456789
    corpbank softtoken code
    corpbank softtoken code --seed-hex 3132… --count 3
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from corpbank.tokens.totp import totp

PROVISION_PATH = "/api/v1/softtoken/provision"


def default_store() -> Path:
    configured = os.environ.get("CORPBANK_SOFTTOKEN_STORE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "corpbank-softtoken.json"


class AppError(Exception):
    """What the app tells its user and exits with status 1."""


def _read_activation_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("利用開始パスワード: ")
    return sys.stdin.readline().rstrip("\r\n")


def _post_json(url: str, body: dict[str, str], timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the bank's address, http(s) only (checked below)
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return dict(json.load(response))
    except urllib.error.HTTPError as error:
        try:
            message = json.load(error)["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {error.code}"
        raise AppError(message) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise AppError(f"金融機関のサーバに接続できません: {error}") from None


def _write_store(path: Path, content: dict[str, Any], *, force: bool) -> None:
    """The seed goes to a file only its owner can read; an existing set-up is kept unless forced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(path, flags, 0o600)
    except FileExistsError:
        raise AppError(f"{path} に設定済みのトークンがあります（置き換えるには --force）。") from None
    with os.fdopen(descriptor, "w") as file:
        json.dump(content, file, ensure_ascii=False, indent=2)


def enrol(args: argparse.Namespace) -> int:
    base = args.url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise AppError("--url は https:// で始まる金融機関のアドレスを指定してください。")
    password = _read_activation_password()
    provisioned = _post_json(
        base + PROVISION_PATH,
        {"service_id": args.service_id, "user_id": args.user_id, "activation_password": password},
        args.timeout,
    )
    store = {
        "url": base,
        "service_id": args.service_id,
        "user_id": args.user_id,
        **{key: provisioned[key] for key in ("issuer", "account", "secret", "algorithm", "digits", "period")},
    }
    _write_store(args.store, store, force=args.force)
    print(f"初期設定が完了しました（{store['issuer']} ユーザID {store['account']}）。")
    print("パソコンの「ワンタイムパスワード利用開始」で、次のワンタイムパスワードを入力してください:")
    print(_code(store, time.time()))
    return 0


def _seed(store: dict[str, Any]) -> bytes:
    secret = str(store["secret"]).upper()
    try:
        return base64.b32decode(secret + "=" * (-len(secret) % 8))
    except binascii.Error:
        raise AppError("トークンのキーが壊れています。") from None


def _code(store: dict[str, Any], at: float) -> str:
    return totp(
        _seed(store),
        at,
        step_seconds=int(store.get("period", 60)),
        digits=int(store.get("digits", 6)),
        algorithm=str(store.get("algorithm", "sha1")),
    )


def _load(args: argparse.Namespace) -> dict[str, Any]:
    if args.seed_hex or args.secret:
        try:
            secret = base64.b32encode(bytes.fromhex(args.seed_hex)).decode() if args.seed_hex else args.secret
        except ValueError:
            raise AppError("--seed-hex は16進数で指定してください。") from None
        return {"secret": secret, "algorithm": args.algorithm, "digits": args.digits, "period": args.period}
    try:
        return dict(json.loads(args.store.read_text()))
    except FileNotFoundError:
        raise AppError(f"{args.store} がありません。先に初期設定（enrol）を行ってください。") from None


def code(args: argparse.Namespace) -> int:
    store = _load(args)
    period = int(store.get("period", 60))
    at = args.at if args.at is not None else time.time()
    for index in range(args.count):
        print(_code(store, at + index * period))
    if args.count == 1 and args.at is None and sys.stderr.isatty():
        print(f"（あと {period - int(at) % period} 秒で変わります）", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="corpbank softtoken", description="ワンタイムパスワードアプリ（参照実装）"
    )
    top.add_argument("--store", type=Path, default=default_store(), help="the set-up file (mode 600)")
    commands = top.add_subparsers(dest="command", required=True)
    setup = commands.add_parser(
        "enrol", help="初期設定: fetch the seed once (the activation password on stdin)"
    )
    setup.add_argument("--url", required=True, help="the bank's address, e.g. https://ib.example.jp")
    setup.add_argument("--service-id", required=True, help="サービスID")
    setup.add_argument("--user-id", required=True, help="ユーザID")
    setup.add_argument("--force", action="store_true", help="replace an existing set-up")
    setup.add_argument("--timeout", type=float, default=15.0)
    setup.set_defaults(run=enrol)
    show = commands.add_parser("code", help="print the one-time password")
    show.add_argument("--seed-hex", help="a token's seed in hex instead of the set-up file")
    show.add_argument("--secret", help="a token's seed in base32 instead of the set-up file")
    show.add_argument("--algorithm", default="sha1", choices=["sha1", "sha256", "sha512"])
    show.add_argument("--digits", type=int, default=6)
    show.add_argument("--period", type=int, default=60)
    show.add_argument("--at", type=float, help="a Unix time instead of now")
    show.add_argument("--count", type=int, default=1, help="also print the next codes")
    show.set_defaults(run=code)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except AppError as error:
        print(f"エラー: {error}", file=sys.stderr)
        return 1
