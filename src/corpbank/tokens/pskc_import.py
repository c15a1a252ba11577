"""Importing the bank's token stock from PSKC files (RFC 6030) with python-pskc: plain,
pre-shared-key and password-protected (PBKDF2) files, with serial numbers and expiry dates.

An import is all or nothing: a file that does not parse, a wrong key or password, a MAC that does
not match, a key that is not TOTP, or a serial already in stock (or twice in the file) refuses the
whole file with a clear error, and nothing of it is stored."""

from __future__ import annotations

import dataclasses
import logging
from typing import IO

from django.db import transaction
from django.utils.translation import gettext as _
from pskc import PSKC
from pskc.exceptions import DecryptionError, KeyDerivationError, ParseError

from corpbank.core import audit
from corpbank.core.errors import DomainError, ValidationFailed
from corpbank.tokens import services as tokens
from corpbank.tokens.models import Token

logger = logging.getLogger(__name__)

TOTP = "urn:ietf:params:xml:ns:keyprov:pskc:totp"
HASHES = {
    None: "sha1",
    "hmac-sha1": "sha1",
    "hmac-sha256": "sha256",
    "hmac-sha512": "sha512",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha512": "sha512",
}


class ImportRefused(ValidationFailed):
    code = "import_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, fields={"file": message})


@dataclasses.dataclass(frozen=True)
class StockEntry:
    serial: str
    seed: bytes
    algorithm: str
    digits: int
    step_seconds: int
    expires_on: object

    def __repr__(self) -> str:  # never the seed
        return f"<StockEntry {self.serial}>"


def read(
    source: str | IO[bytes], *, preshared_key: bytes | None = None, password: str | None = None
) -> list[StockEntry]:
    """Parse and decrypt a PSKC file into stock entries, checking every key; store nothing."""
    try:
        document = PSKC(source)
    except (ParseError, OSError, ValueError) as error:
        # The parser's own words (English, and about XML) stay in the log, not in the message.
        logger.info("PSKC file not read: %s", error)
        raise ImportRefused(
            _("PSKCファイルとして読み込めません。ファイルの形式（RFC 6030 の XML）をご確認ください。")
        ) from error
    if document.encryption.is_encrypted:
        if preshared_key:
            document.encryption.key = preshared_key
        elif password:
            try:
                document.encryption.derive_key(password)
            except KeyDerivationError as error:
                raise ImportRefused(_("パスワードから鍵を導出できません。")) from error
        else:
            raise ImportRefused(
                _("このファイルは暗号化されています。事前共有鍵またはパスワードを指定してください。")
            )
    entries: list[StockEntry] = []
    seen: set[str] = set()
    for key in document.keys:
        serial = (key.serial or "").strip()
        try:
            seed = key.secret
            step = key.time_interval
        except DecryptionError as error:
            raise ImportRefused(
                _("復号できません。鍵またはパスワードが違うか、ファイルが改ざんされています（MAC不一致）。")
            ) from error
        if not serial:
            raise ImportRefused(_("シリアル番号のないトークンが含まれています。"))
        if serial in seen:
            raise ImportRefused(
                _("シリアル番号 %(serial)s がファイル内で重複しています。") % {"serial": serial}
            )
        seen.add(serial)
        if key.algorithm != TOTP:
            raise ImportRefused(
                _("シリアル番号 %(serial)s はTOTPのトークンではありません。") % {"serial": serial}
            )
        suite = (key.algorithm_suite or "").lower() or None
        if suite not in HASHES or not seed:
            raise ImportRefused(_("シリアル番号 %(serial)s の形式に対応していません。") % {"serial": serial})
        digits = key.response_length or 6
        if digits not in (6, 7, 8):
            raise ImportRefused(_("シリアル番号 %(serial)s の桁数に対応していません。") % {"serial": serial})
        expiry = key.expiry_date
        entries.append(
            StockEntry(
                serial,
                bytes(seed),
                HASHES[suite],
                digits,
                int(step or 60),
                expiry.date() if expiry is not None else None,
            )
        )
    if not entries:
        raise ImportRefused(_("トークンが含まれていません。"))
    return entries


def key_from_hex(text: str) -> bytes | None:
    """The pre-shared key as the bank types it (hexadecimal, spaces allowed); None when left blank."""
    cleaned = "".join(text.split())
    if not cleaned:
        return None
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise ValidationFailed(
            _("入力内容をご確認ください。"), fields={"key_hex": _("事前共有鍵は16進数で入力してください。")}
        ) from None


def import_stock(
    source: str | IO[bytes],
    *,
    actor: audit.Actor,
    preshared_key: bytes | None = None,
    password: str | None = None,
    file_name: str = "",
) -> list[Token]:
    """Read the file, then store every token in one transaction, or none."""
    entries = read(source, preshared_key=preshared_key, password=password)
    try:
        with transaction.atomic(durable=True):
            stocked = [
                tokens.add_to_stock(
                    serial=entry.serial,
                    seed=entry.seed,
                    actor=actor,
                    algorithm=entry.algorithm,
                    digits=entry.digits,
                    step_seconds=entry.step_seconds,
                    expires_on=entry.expires_on,  # type: ignore[arg-type]
                )
                for entry in entries
            ]
            audit.record(
                "tokens.imported", actor=actor, details={"file": file_name[:200], "tokens": len(stocked)}
            )
    except DomainError as error:
        raise ImportRefused(error.message) from error
    return stocked
