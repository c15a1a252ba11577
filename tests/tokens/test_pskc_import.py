"""The bank's token stock from PSKC files (RFC 6030): plain, pre-shared key, password (R-E1, R-E5)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pskc import PSKC

from corpbank.core import audit
from corpbank.core.models import AuditEvent
from corpbank.tokens import otp, pskc_import, seeds
from corpbank.tokens.models import Token
from corpbank.tokens.pskc_import import ImportRefused

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "pskc"
BANK = audit.Actor.system("test")
PRESHARED = bytes.fromhex("12345678901234567890123456789012")


def write_stock(
    path: Path, serials: list[str], *, preshared: bytes | None = None, password: str | None = None
) -> Path:
    """A stock file in the shape of RFC 6030 figures 6 (pre-shared key, AES-128-CBC with HMAC-SHA1
    MAC) and 7 (PBKDF2), written with python-pskc's own writer."""
    document = PSKC()
    for number, serial in enumerate(serials):
        document.add_key(
            id=serial,
            serial=serial,
            manufacturer="Token Maker",
            secret=f"seed-of-{serial}-{number:04d}".encode(),
            algorithm=pskc_import.TOTP,
            response_length=6,
            time_interval=60,
            expiry_date=datetime(2030, 4, 30, tzinfo=UTC),
        )
    if preshared is not None:
        document.encryption.setup_preshared_key(key=preshared, key_name="Pre-shared-key")
    if password is not None:
        document.encryption.setup_pbkdf2(password, iterations=1000)
    document.write(str(path))
    return path


def test_plain_file_imports_serials_expiry_and_hash(db):
    stocked = pskc_import.import_stock(str(FIXTURES / "plain.pskcxml"), actor=BANK)
    assert [t.serial for t in stocked] == ["HW10000001", "HW10000002"]
    first, second = stocked
    assert first.expires_on == date(2030, 4, 30) and first.state == Token.State.IN_STOCK
    assert (second.algorithm, second.digits, second.step_seconds) == ("sha256", 6, 60)
    assert seeds.unseal(first) == b"12345678901234567890"
    # The imported token's codes are the RFC 6238 seed's codes.
    assert otp.totp(seeds.unseal(first), 59, step_seconds=30, digits=8) == "94287082"
    assert AuditEvent.objects.filter(action="tokens.imported").count() == 1


def test_pre_shared_key_file(db, tmp_path):
    path = write_stock(tmp_path / "psk.pskcxml", ["HW20000001", "HW20000002"], preshared=PRESHARED)
    assert b"seed-of-HW20000001" not in path.read_bytes()
    stocked = pskc_import.import_stock(str(path), actor=BANK, preshared_key=PRESHARED)
    assert seeds.unseal(stocked[0]) == b"seed-of-HW20000001-0000"


def test_password_protected_file(db, tmp_path):
    path = write_stock(tmp_path / "pbkdf2.pskcxml", ["HW30000001"], password="Stock-Pass-2026")
    stocked = pskc_import.import_stock(str(path), actor=BANK, password="Stock-Pass-2026")
    assert seeds.unseal(stocked[0]) == b"seed-of-HW30000001-0000"


@pytest.mark.parametrize("secret", [{"preshared_key": bytes(16)}, {"password": "wrong-password"}, {}])
def test_a_wrong_or_missing_key_refuses_the_whole_file(db, tmp_path, secret):
    path = write_stock(tmp_path / "stock.pskcxml", ["HW40000001", "HW40000002"], preshared=PRESHARED)
    if "password" in secret:
        path = write_stock(tmp_path / "stock2.pskcxml", ["HW40000001"], password="right-password")
    with pytest.raises(ImportRefused):
        pskc_import.import_stock(str(path), actor=BANK, **secret)
    assert not Token.objects.exists()


def test_a_bad_mac_refuses_the_whole_file(db, tmp_path):
    path = write_stock(tmp_path / "stock.pskcxml", ["HW50000001", "HW50000002"], preshared=PRESHARED)
    document = path.read_text()
    start = document.index("<pskc:ValueMAC>") + len("<pskc:ValueMAC>")
    tampered = document[:start] + ("A" if document[start] != "A" else "B") + document[start + 1 :]
    path.write_text(tampered)
    with pytest.raises(ImportRefused, match="MAC"):
        pskc_import.import_stock(str(path), actor=BANK, preshared_key=PRESHARED)
    assert not Token.objects.exists()


def test_a_serial_already_in_stock_refuses_the_whole_file(db, tmp_path):
    pskc_import.import_stock(str(FIXTURES / "plain.pskcxml"), actor=BANK)
    path = write_stock(tmp_path / "again.pskcxml", ["HW60000001", "HW10000002"])
    with pytest.raises(ImportRefused, match="HW10000002"):
        pskc_import.import_stock(str(path), actor=BANK)
    assert not Token.objects.filter(serial="HW60000001").exists()
    assert AuditEvent.objects.filter(action="token.stocked", details__serial="HW60000001").count() == 0


def test_a_serial_twice_in_the_file_is_refused(db, tmp_path):
    path = write_stock(tmp_path / "twice.pskcxml", ["HW70000001", "HW70000001"])
    with pytest.raises(ImportRefused, match="重複"):
        pskc_import.import_stock(str(path), actor=BANK)


@pytest.mark.parametrize("content, reason", [(b"not xml at all", "読み込めません"), (None, "TOTP")])
def test_unreadable_or_unusable_files_are_refused(db, content, reason):
    source = io.BytesIO(content) if content else str(FIXTURES / "hotp.pskcxml")
    with pytest.raises(ImportRefused, match=reason):
        pskc_import.import_stock(source, actor=BANK)


def test_the_import_command(db, tmp_path):
    path = write_stock(tmp_path / "psk.pskcxml", ["HW80000001"], preshared=PRESHARED)
    out = io.StringIO()
    call_command("tokens", "import", str(path), key_hex=PRESHARED.hex(), stdout=out)
    assert "imported 1 tokens: HW80000001" in out.getvalue()
    with pytest.raises(CommandError, match="HW80000001"):
        call_command("tokens", "import", str(path), key_hex=PRESHARED.hex(), stdout=io.StringIO())


def test_the_rotate_key_command(db):
    pskc_import.import_stock(str(FIXTURES / "plain.pskcxml"), actor=BANK)
    out = io.StringIO()
    call_command("tokens", "rotate-key", stdout=out)
    assert "re-sealed 0 seeds" in out.getvalue()
