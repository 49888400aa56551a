"""Storage URLs: normalise what users type, and redact passwords before anything prints them."""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

_PASSWORD_IN_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)@", re.IGNORECASE
)


def normalise_postgres_url(url: str) -> str:
    """SQLAlchemy 2.1 maps `postgresql://` to psycopg 3; spacehpo ships psycopg2, so say so."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def redact(text: str) -> str:
    """Replace every `scheme://user:PASSWORD@` in a text by `scheme://user:***@`."""
    return _PASSWORD_IN_URL.sub(lambda m: f"{m['scheme']}***@", text)


def password_of(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        return None


def scrub(text: str, url: str | None) -> str:
    """Redact URLs and also the bare password, which drivers sometimes echo on their own."""
    text = redact(text)
    password = password_of(url) if url else None
    return text.replace(password, "***") if password else text
