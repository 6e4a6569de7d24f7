from __future__ import annotations

import pytest

from hoverbentley._core.names import safe_segment, url_extension
from hoverbentley.redact import SecretScrubber, redact_url


def test_redact_url_hides_signatures_tokens_and_passwords() -> None:
    url = (
        "https://u:pw@acct.blob.core.windows.net/c?sv=2020&se=2026-01-01&sig=SIGVALUE"
        "&access_token=TOK123&current_user_email=a@b.c"
    )
    out = redact_url(url)
    for secret in ("SIGVALUE", "TOK123", ":pw@"):
        assert secret not in out
    assert "se=2026-01-01" in out
    assert "current_user_email=a@b.c" in out


def test_redact_url_leaves_plain_urls_alone() -> None:
    url = "https://hover.to/api/v3/models/1/artifacts/cad_export.xml?version=v2"
    assert redact_url(url) == url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ops:PASSW0RD@host/x", "ops:REDACTED@host/x"),  # the scheme left out
        ("HTTPS://ops:PASSW0RD@h/x", "HTTPS://ops:REDACTED@h/x"),  # written as given
        ("127.0.0.1:9000", "127.0.0.1:9000"),
    ],
)
def test_redact_url_finds_a_password_without_a_scheme_and_keeps_the_rest(
    url: str, shown: str
) -> None:
    assert redact_url(url) == shown


def test_a_token_url_that_is_no_url_is_refused_without_its_password() -> None:
    from hoverbentley.bentley.auth import ClientCredentials
    from hoverbentley.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        ClientCredentials("id", "secret", token_url="ftp://ops:PASSW0RD@ims/token")
    assert str(caught.value) == "token_url is not an http(s) URL: 'ftp://ops:REDACTED@ims/token'"
    with pytest.raises(ConfigurationError, match="token_url is not a valid URL"):
        ClientCredentials("id", "secret", token_url="https://ims:99999/token")


def test_scrubber_removes_known_secrets_and_bearer_values() -> None:
    scrubber = SecretScrubber()
    scrubber.add("refresh-abcdef")
    scrubber.add("abc")  # too short to be a token: ignored
    text = scrubber.scrub("got refresh-abcdef and Authorization: Bearer xyz.123-456 abc")
    assert "refresh-abcdef" not in text
    assert "xyz.123-456" not in text
    assert text.endswith("abc")


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/abs/path",
        "a\x00b",
        "x" * 300,
        "CON",
        "nul.txt",
        "\u202eevil",
        "..",
        ".",
    ],
)
def test_safe_segment_never_escapes(name: str) -> None:
    out = safe_segment(name)
    assert out not in ("", ".", "..")
    assert "/" not in out and "\\" not in out and "\x00" not in out
    assert len(out) <= 120
    assert all(c.isalnum() or c in "._-" for c in out)
    assert out.split(".")[0].lower() not in {"con", "nul", "prn", "aux"}


def test_safe_segment_keeps_plain_keys_and_separates_rewritten_ones() -> None:
    assert safe_segment("xml_with_orientation") == "xml_with_orientation"
    assert safe_segment("a/b") != safe_segment("a?b")


@pytest.mark.parametrize(
    ("url", "ext"),
    [
        ("https://h/api/v3/models/1/artifacts/measurements.json?version=v2", "json"),
        ("https://h/api/v2/images/5/image.JPG", "jpg"),
        ("https://h/api/v3/models/1/artifacts/cad_export", ""),
        ("https://h/a.b/file.tar%2Fgz", ""),
    ],
)
def test_url_extension(url: str, ext: str) -> None:
    assert url_extension(url) == ext
