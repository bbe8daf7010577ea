"""Staff access: is a staff password configured, and does a given one match it.

The password comes from ``NEEDSMAP_STAFF_PASSWORD`` or ``[needsmap] staff_password`` in
``.streamlit/secrets.toml`` (``settings.staff_password``). With none configured, staff views are
open: the app is then meant for a closed intranet where everyone who reaches it is staff.
Comparisons run over SHA-256 digests with ``hmac.compare_digest``, so neither the content nor
the length of the password leaks through timing. A signed-in session keeps a token derived from
the password; changing the password therefore signs every session out.
"""

from __future__ import annotations

import hashlib
import hmac

from needsmap import settings

_TOKEN_CONTEXT = b"needsmap staff session v1\x00"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def password_required() -> bool:
    """True when a staff password is configured (staff views then ask for it)."""
    return bool(settings.staff_password())


def check_password(given: str) -> bool:
    """Does ``given`` match the configured staff password? False when none is configured."""
    expected = settings.staff_password()
    if not expected:
        return False
    return hmac.compare_digest(_digest(given), _digest(expected))


def session_token() -> str:
    """What a session keeps after a correct password: bound to the password, not the password itself."""
    return hashlib.sha256(_TOKEN_CONTEXT + settings.staff_password().encode("utf-8")).hexdigest()


def is_signed_in(token: object) -> bool:
    """May a session holding ``token`` see staff views? Always, when no password is configured."""
    if not password_required():
        return True
    return isinstance(token, str) and hmac.compare_digest(token.encode(), session_token().encode())
