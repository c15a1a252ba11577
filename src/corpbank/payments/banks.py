"""Banks and branches by code or name (金融機関・支店の検索, R-G4): the Zengin data of the ``zengin-code``
package (every bank in Japan and its branches, by 金融機関コード and 支店コード, with kanji and kana names),
and the bank's own branches from its own records, which it knows better than any published list.

A name is found the way people type it: in kanji (``中央``), katakana or hiragana (``ちゅうおう``, which the
Zengin kana writes with large kana, ``チユウオウ``), full- or half-width; a code by its digits."""

from __future__ import annotations

import dataclasses
import unicodedata

import jaconv
import zengin_code
from django.conf import settings

from corpbank.core import text
from corpbank.organizations.models import Branch

SEARCH_LIMIT = 30
# The Zengin kana write small kana large (キヨウ for キョウ): a typed name is compared the same way.
_LARGE_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")


@dataclasses.dataclass(frozen=True)
class Bank:
    code: str
    name: str
    kana: str  # half-width, as transfers carry it

    @property
    def is_own(self) -> bool:
        return self.code == settings.CORPBANK_BANK_CODE


@dataclasses.dataclass(frozen=True)
class BankBranch:
    bank: Bank
    code: str
    name: str
    kana: str


def own_bank() -> Bank:
    return Bank(settings.CORPBANK_BANK_CODE, settings.CORPBANK_BANK_NAME, settings.CORPBANK_BANK_NAME_KANA)


def _searchable(value: str) -> str:
    """What a name is compared as: full-width katakana with large kana (hiragana and half-width kana
    typed become it), letters upper case."""
    return jaconv.hira2kata(unicodedata.normalize("NFKC", value)).translate(_LARGE_KANA).upper().strip()


def _zengin(code: str) -> zengin_code.Bank | None:
    return zengin_code.Bank.all.get(code)


def bank(code: str) -> Bank | None:
    """The bank of this 4-digit code, the bank's own first."""
    code = text.half_width(code)
    if code == settings.CORPBANK_BANK_CODE:
        return own_bank()
    found = _zengin(code)
    return Bank(found.code, found.name, text.half_width_kana(found.kana)) if found else None


def branch(bank_code: str, code: str) -> BankBranch | None:
    """The branch of this 3-digit code at the bank: the bank's own from its records."""
    of = bank(bank_code)
    code = text.half_width(code)
    if of is None:
        return None
    if of.is_own:
        own = Branch.objects.filter(code=code).first()
        return BankBranch(of, own.code, own.name, "") if own else None
    found = _zengin(of.code).branches.get(code)  # type: ignore[union-attr]
    return BankBranch(of, found.code, found.name, text.half_width_kana(found.kana)) if found else None


def search_banks(query: str) -> list[Bank]:
    """Banks whose code starts with the digits typed, or whose name (kanji or kana) holds what was
    typed; the bank's own first. At most SEARCH_LIMIT."""
    wanted = _searchable(query)
    if not wanted:
        return []
    own = own_bank()
    found = []
    if own.code.startswith(wanted) or wanted in _searchable(own.name) or wanted in _searchable(own.kana):
        found.append(own)
    for entry in zengin_code.Bank.all.values():
        if len(found) >= SEARCH_LIMIT:
            break
        if entry.code == own.code:
            continue
        if entry.code.startswith(wanted) or wanted in entry.name or wanted in entry.kana:
            found.append(Bank(entry.code, entry.name, text.half_width_kana(entry.kana)))
    return found


def search_branches(bank_code: str, query: str) -> list[BankBranch]:
    """The bank's branches whose code starts with the digits typed or whose name holds what was typed
    (every branch, up to SEARCH_LIMIT, for an empty query)."""
    of = bank(bank_code)
    if of is None:
        return []
    wanted = _searchable(query)
    if of.is_own:
        branches = [BankBranch(of, own.code, own.name, "") for own in Branch.objects.order_by("code")]
        return [
            entry for entry in branches if entry.code.startswith(wanted) or wanted in _searchable(entry.name)
        ][:SEARCH_LIMIT]
    found: list[BankBranch] = []
    for entry in _zengin(of.code).branches.values():  # type: ignore[union-attr]
        if len(found) >= SEARCH_LIMIT:
            break
        if entry.code.startswith(wanted) or wanted in entry.name or wanted in entry.kana:
            found.append(BankBranch(of, entry.code, entry.name, text.half_width_kana(entry.kana)))
    return found
