"""What a person had typed when the session ended for inactivity (R-A5), kept for the same person's next
session.

A form sent after the session timed out cannot be carried out: the sender is no longer known. Its
non-secret fields are kept in the new anonymous session, bound to the person whose session ended and to
the page; they survive the login's new sessions (the middleware carries them over when the same person,
or nobody yet, holds the new one), and the page's next form fills them in, once. Secrets never are:
passwords, PINs, one-time passwords and secret answers are dropped when the draft is made, and the form
fills in no secret field either. Another person logging in on the same PC (R-A5) drops the draft."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import timezone

from corpbank.web import sessions

DRAFT = "corpbank.draft"
# The one form template (form.html) sends this field: only such a form comes back filled in, never a
# button's POST (an approval, a logout), whose page is no form.
FORM_MARKER = "corpbank_form"
KEPT_FOR = timedelta(hours=1)
# A field whose name holds one of these is a secret, or the form's CSRF token: never kept.
SECRET_NAME_PARTS = ("password", "pin", "otp", "answer", "secret", "passphrase", "csrf")
MAX_FIELDS = 100
MAX_LENGTH = 1000

Owner = list[object]  # ["customer", id] or ["operator", id]: a session's JSON-able holder


def owner_of(session: SessionBase) -> Owner | None:
    """Whose session this is (read before the middleware ends it)."""
    customer, operator = session.get(sessions.CUSTOMER), session.get(sessions.OPERATOR)
    if customer is not None:
        return ["customer", customer]
    if operator is not None:
        return ["operator", operator]
    return None


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_NAME_PARTS)


def keep(request: HttpRequest, owner: Owner) -> bool:
    """Keep the non-secret fields of a form that ``owner`` sent after the session timed out: those the
    form itself named as kept (FORM_MARKER's value, from pages.Field.is_secret), and of those none whose
    name looks like a secret's either."""
    if request.method != "POST" or FORM_MARKER not in request.POST:
        return False
    named = set(request.POST[FORM_MARKER].split())
    names = [name for name in request.POST if name in named and not is_secret(name)][:MAX_FIELDS]
    request.session[DRAFT] = {
        "owner": owner,
        "path": request.path,
        "values": {name: [value[:MAX_LENGTH] for value in request.POST.getlist(name)] for name in names},
        "saved_at": timezone.now().isoformat(),
    }
    return True


def _usable(draft: Any) -> bool:
    try:
        return timezone.now() - datetime.fromisoformat(draft["saved_at"]) <= KEPT_FOR
    except (KeyError, TypeError, ValueError):
        return False


def carry_over(request: HttpRequest, draft: Any) -> None:
    """After an anonymous request (a login's steps), put back a draft that a new session lost, when the
    new session is nobody's yet or the draft owner's."""
    if not draft or DRAFT in request.session or not _usable(draft):
        return
    holder = owner_of(request.session)
    if holder is None or holder == draft.get("owner"):
        request.session[DRAFT] = draft


def take(request: HttpRequest) -> dict[str, list[str]] | None:
    """The kept values for this page and this person, once; None when there are none."""
    draft = request.session.get(DRAFT)
    if not draft or draft.get("path") != request.path:
        return None
    del request.session[DRAFT]
    if draft.get("owner") != sessions.signed_in(request) or not _usable(draft):
        return None
    return {str(name): [str(value) for value in values] for name, values in draft["values"].items()}


def resume_page(draft: Any, owner: Owner) -> str | None:
    """The page of a draft kept for ``owner`` (read from the session before the login replaced it), to
    go back to after the login, as the timeout's message promises; None when there is none."""
    if not draft or not _usable(draft) or draft.get("owner") != owner:
        return None
    return str(draft["path"])


def waiting(request: HttpRequest) -> str | None:
    """The page of this person's draft, unless it is the page shown."""
    draft = request.session.get(DRAFT) if hasattr(request, "session") else None
    if not draft or draft.get("path") == request.path or not _usable(draft):
        return None
    return str(draft["path"]) if draft.get("owner") == sessions.signed_in(request) else None
