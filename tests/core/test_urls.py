from __future__ import annotations

import pytest

from hoverbentley._core.urls import (
    add_query,
    http_url_fault,
    origin,
    redirect_method,
    redirect_target,
    same_origin,
    wire_url,
)
from hoverbentley.errors import RedirectError


def test_same_origin_uses_default_ports() -> None:
    assert same_origin("https://hover.to/a", "https://HOVER.to:443/b")
    assert not same_origin("https://hover.to", "http://hover.to")
    assert not same_origin("http://127.0.0.1:8000/", "http://127.0.0.1:8001/")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://a.b:8080/x?y", ("http", "a.b", 8080)),
        ("HTTPS://User:pw@Host.COM/p", ("https", "host.com", 443)),
        ("http://h?q=1", ("http", "h", 80)),
        ("http://h#/frag:99", ("http", "h", 80)),
        ("http://[::1]:9/x", ("http", "::1", 9)),
        ("https://store.example/k?X-Amz-Signature=a:b/c", ("https", "store.example", 443)),
        ("s3://bucket/key", ("s3", "bucket", 0)),
        ("/relative/path", ("", "", 0)),
    ],
)
def test_origin_reads_scheme_host_and_port(url: str, expected: tuple[str, str, int]) -> None:
    assert origin(url) == expected


def test_add_query_keeps_existing_parameters() -> None:
    url = "https://hover.to/x/measurements.json?version=full_json"
    assert (
        add_query(url, {"current_user_email": "a@b.c"})
        == "https://hover.to/x/measurements.json?version=full_json&current_user_email=a%40b.c"
    )
    assert add_query("https://h/x?current_user_email=z", {"current_user_email": "a"}) == (
        "https://h/x?current_user_email=z"
    )
    assert add_query("https://h/x", {}) == "https://h/x"


def test_wire_url_keeps_escapes_and_encodes_spaces() -> None:
    href = "https://api/jobs?$filter=iTwinId eq 5&continuationToken=MzY3%2Fab=="
    assert (
        wire_url(href) == "https://api/jobs?$filter=iTwinId%20eq%205&continuationToken=MzY3%2Fab=="
    )


def test_redirect_target_resolves_relative_locations() -> None:
    assert redirect_target("https://a/x/y", "/z?q=1", ["https://a/x/y"], 5) == "https://a/z?q=1"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        (None, "without a Location"),
        ("file:///etc/passwd", "non-HTTP scheme 'file'"),
        ("ftp://example/x", "non-HTTP scheme 'ftp'"),
        ("http://a/plain", "HTTPS to plain HTTP"),
        ("https://a/x/y", "loop"),
    ],
)
def test_redirect_target_refuses(location: str | None, message: str) -> None:
    with pytest.raises(RedirectError, match=message):
        redirect_target("https://a/x/y", location, ["https://a/x/y"], 5)


def test_redirect_target_limits_hops() -> None:
    chain = [f"https://a/{i}" for i in range(4)]
    with pytest.raises(RedirectError, match="more than 3 redirects"):
        redirect_target(chain[-1], "https://a/next", chain, 3)


def test_redirect_method() -> None:
    assert redirect_method(303, "POST") == "GET"
    assert redirect_method(302, "POST") == "GET"
    assert redirect_method(307, "POST") == "POST"
    assert redirect_method(302, "GET") == "GET"


@pytest.mark.parametrize(
    ("url", "fault"),
    [
        ("https://hover.to", None),
        ("http://127.0.0.1:9000/prefix", None),
        ("ftp://hover.to", "not an http(s) URL"),
        ("127.0.0.1:9000", "not an http(s) URL"),
        ("http://127.0.0.1:99999", "not a valid URL (Port out of range 0-65535)"),
        ("http://[::1", "not a valid URL (Invalid IPv6 URL)"),
        ("http://", "an http(s) URL without a host"),
        ("https://:443/", "an http(s) URL without a host"),
        ("http://a..b/", "not a valid URL (the host 'a..b' is no host name)"),
        ("http://[::1]:8080/", None),
        ("http://bücher.example/", None),
    ],
)
def test_http_url_fault_names_what_is_wrong(url: str, fault: str | None) -> None:
    assert http_url_fault(url) == fault
