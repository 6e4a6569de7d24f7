"""The pure Azure Blob pieces: List Blobs XML and the ``se=`` expiry of a SAS URL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hoverbentley.bentley.azure import parse_blob_list, sas_expiry
from hoverbentley.errors import DecodeError

URL = "https://acct.blob.core.windows.net/c?restype=container&comp=list"

PAGE = b"""<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://acct.blob.core.windows.net/" ContainerName="c">
  <Blobs>
    <Blob><Name>Production/doc.json</Name><Properties>
      <Last-Modified>Mon, 01 Jul 2024 10:00:00 GMT</Last-Modified>
      <Etag>0x8DC9A1</Etag><Content-Length>24</Content-Length>
      <Content-MD5>1B2M2Y8AsgTpgAmY7PhCfg==</Content-MD5></Properties></Blob>
    <Blob><Name>Production/Data/t 1&amp;2.b3dm</Name><Properties>
      <Content-Length>0</Content-Length></Properties></Blob>
  </Blobs>
  <NextMarker>2!96!MDAwMDIy</NextMarker>
</EnumerationResults>"""


def test_a_page_with_a_next_marker() -> None:
    items, marker = parse_blob_list(PAGE, URL)
    assert marker == "2!96!MDAwMDIy"
    first, second = items
    assert (first.name, first.size, first.etag) == ("Production/doc.json", 24, "0x8DC9A1")
    assert first.content_md5 == "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert first.last_modified == "Mon, 01 Jul 2024 10:00:00 GMT"
    assert (second.name, second.size, second.etag, second.content_md5) == (
        "Production/Data/t 1&2.b3dm",
        0,
        None,
        None,
    )


def test_the_last_page_has_no_marker() -> None:
    body = b"<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>"
    assert parse_blob_list(body, URL) == ([], None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<EnumerationResults><Blobs>", "not valid XML"),
        (b"<Error><Code>AuthenticationFailed</Code></Error>", "expected <EnumerationResults>"),
        (b"<EnumerationResults><Blobs><Blob><Name>x</Name></Blob></Blobs></EnumerationResults>",
         "without <Name> or <Properties>"),
        (b"<EnumerationResults><Blobs><Blob><Name>x</Name><Properties><Content-Length>-1"
         b"</Content-Length></Properties></Blob></Blobs></EnumerationResults>", "Content-Length"),
    ],
    ids=["torn", "error-document", "no-properties", "bad-length"],
)  # fmt: skip
def test_malformed_listings_are_decode_errors_naming_the_url(body: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as info:
        parse_blob_list(body, URL)
    assert info.value.url is not None and "acct.blob.core.windows.net" in info.value.url


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sv=2020-08-04&se=2021-07-22T03%3A50%3A21Z&sr=c&sp=rl&sig=x", (2021, 7, 22, 3, 50, 21)),
        ("se=2021-07-22T03:50:21Z&sig=x", (2021, 7, 22, 3, 50, 21)),
        ("se=2021-07-22T05%3A50%3A21%2B02%3A00&sig=x", (2021, 7, 22, 3, 50, 21)),
        ("se=2021-07-22T03%3A50%3A21&sig=x", (2021, 7, 22, 3, 50, 21)),  # no zone: UTC
    ],
)
def test_sas_expiry_in_epoch_seconds(query: str, expected: tuple[int, ...]) -> None:
    url = f"https://acct.blob.core.windows.net/c?{query}"
    assert sas_expiry(url) == datetime(*expected, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("query", ["sv=2020-08-04&sig=x", "se=tomorrow&sig=x", ""])
def test_sas_without_a_readable_expiry(query: str) -> None:
    assert sas_expiry(f"https://acct.blob.core.windows.net/c?{query}") is None
