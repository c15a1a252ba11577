"""gunicorn's configuration for ``corpbank serve --tls`` (``--config python:corpbank.gunicorn_tls``).

The handshake asks for a client certificate of the bank's CA and checks its signature, but not its
dates: an expired certificate then reaches corpbank, which refuses it with a message that says so and
what to do (certificates.verify checks the dates itself, at every login), where Python's TLS stack
would end the handshake and leave the browser with its own TLS error. nginx in front does the same
through its error page (docs/operations.md). A certificate of another CA still fails the handshake:
the stdlib's TLS has no hook to let it through, and a browser offers only certificates of the CAs the
server names, so a customer's PC does not send one."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME, which Python's ssl module has no name for.
NO_CHECK_TIME = 0x200000


def ssl_context(config: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    context = default_ssl_context_factory()
    context.verify_flags |= NO_CHECK_TIME  # type: ignore[assignment]
    return context
