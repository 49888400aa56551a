"""Storage URLs, because a password must never reach a log line or an error message, and a plain
postgresql:// URL must still find its driver."""

from spacehpo.storage.urls import normalise_postgres_url, redact, scrub


def test_plain_postgresql_urls_use_psycopg2() -> None:
    assert normalise_postgres_url("postgresql://u:p@h/db") == "postgresql+psycopg2://u:p@h/db"
    assert normalise_postgres_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalise_postgres_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"


def test_passwords_are_redacted_everywhere_in_a_text() -> None:
    text = "failed: postgresql://alice:s3cr%40t@db:5432/x and postgresql+psycopg2://bob:pw@h/y"
    assert (
        redact(text)
        == "failed: postgresql://alice:***@db:5432/x and postgresql+psycopg2://bob:***@h/y"
    )
    assert (
        scrub("password s3cr@t rejected", "postgresql://alice:s3cr%40t@db/x")
        == "password *** rejected"
    )
