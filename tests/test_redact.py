"""Secrets never survive `redact` / `redact_url`, and ordinary text passes unchanged."""

from __future__ import annotations

import pytest

from pricebench.redact import REDACTED, redact, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@api.groq.com/openai/v1", "https://api.groq.com/openai/v1"),
        ("https://h.example/v1?api-key=abc123&x=1", f"https://h.example/v1?api-key={REDACTED}&x=1"),
        ("http://localhost:11434/v1", "http://localhost:11434/v1"),
    ],
)
def test_urls_lose_credentials(url, expected):
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    "secret",
    ["sk-proj-abcdefgh1234567890", "sk-ant-api03-zzzzzzzzzzzz", "gsk_abcdefghijkl12"],
)
def test_key_like_strings_in_error_text(secret):
    text = f"Error code: 401 - Incorrect API key provided: {secret}. Bearer {secret}"
    cleaned = redact(text)
    assert secret not in cleaned
    assert "Incorrect API key provided" in cleaned


def test_secret_pairs_and_urls_inside_text():
    text = 'api_key="hunter2secret" at https://u:pw@x.example/v1?token=zzzz9'
    cleaned = redact(text)
    assert "hunter2secret" not in cleaned and "pw@" not in cleaned and "zzzz9" not in cleaned


@pytest.mark.parametrize("text", ["Price is $45.99", "Sony WH-1000XM4 headphones, 6ft cable", ""])
def test_plain_text_unchanged(text):
    assert redact(text) == text


def test_url_credentials_are_redacted_in_every_form_they_travel_in():
    import base64

    from pricebench.redact import _forget_secrets, redact, redact_url

    _forget_secrets()
    url = "http://alice:s3cret%21pw@gateway.example/v1"
    assert redact_url(url) == "http://gateway.example/v1"
    basic = base64.b64encode(b"alice:s3cret!pw").decode()
    for text in (
        f"upstream refused Basic {basic}",  # the header the HTTP client made of them
        f"token {basic} seen",  # base64 alone
        "password s3cret!pw was wrong",  # percent-decoded
        "password s3cret%21pw was wrong",  # as written
    ):
        cleaned = redact(text)
        assert "s3cret" not in cleaned and basic not in cleaned, cleaned
        assert "[redacted]" in cleaned
    assert redact("Authorization: Basic dXNlcjpwYXNzd29yZA==") == "Authorization: Basic [redacted]"
