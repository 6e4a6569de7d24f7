"""Open S3 multipart uploads: list those under a key prefix, abort one.

A multipart upload that is neither completed nor aborted (its process was killed) stays in
the bucket, billed and invisible, until someone aborts it. obstore (0.12) cannot reach it:
its writer (``open_writer_async``) never tells the upload id, it has no call that lists or
aborts multipart uploads, and ``sign``/``sign_async`` sign an object path only (a ``?`` in
the path is percent-encoded into the key, and a query added to the signed URL afterwards is
outside the signature, which covers the whole query string). So the two requests here,
ListMultipartUploads (``GET /?uploads&prefix=…``) and AbortMultipartUpload
(``DELETE /KEY?uploadId=…``), are signed by this module (AWS Signature Version 4, in the
``Authorization`` header) and sent with aiohttp.

What comes from where, so that these requests reach what obstore's reach, as the same user:

- The bucket's URL (``AWS_ENDPOINT_URL``, path- or virtual-hosted style) and the region: from
  a URL that obstore signs for the store, locally.
- The credentials: the store's ``credential_provider`` if it has one; otherwise each of the
  store's config (``access_key_id``, ``secret_access_key``, ``session_token``) or else the
  environment obstore reads (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
  ``AWS_SESSION_TOKEN``). Credentials obstore finds elsewhere (instance metadata, web
  identity, a container's) are out of reach: :class:`S3UploadsError` says so, and a bucket
  lifecycle rule (AbortIncompleteMultipartUpload) is then the only cleaner.
- Plain ``http://`` only where the store allows it (``allow_http`` or ``AWS_ALLOW_HTTP``).

Keys are relative to the store's prefix, as in obstore. Errors name the store
(``s3://bucket/prefix``), never a credential or a signature.

Azure has nothing to clean: blocks staged but never committed are invisible and the service
discards them after 7 days.

How a run uses this: :mod:`hoverbentley.archive.upload_ledger` (a record of the keys being
uploaded, kept in the store before the first part is sent, and cleaned by the next run).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import obstore
from obstore.exceptions import BaseError
from yarl import URL

from . import retrying
from .base import StoreError

if TYPE_CHECKING:
    from obstore.store import S3Store

__all__ = ["OpenUpload", "S3UploadsError", "abort_upload", "abort_uploads", "list_uploads"]

#: The sha256 of an empty body: every request here has one.
_EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: Tries of a request that fails with a 5xx, a reset or a timeout.
_TRIES = 3
_TIMEOUT = aiohttp.ClientTimeout(total=60)


class S3UploadsError(StoreError):
    """Listing or aborting multipart uploads failed; the message names the store and why.

    ``status`` is the HTTP status (None: no answer, or nothing was sent) and ``code`` the
    S3 error code (``SignatureDoesNotMatch``, ``InvalidAccessKeyId``, ``AccessDenied``…).
    """

    def __init__(
        self,
        store: str,
        action: str,
        cause: str,
        *,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.store = store
        self.status = status
        self.code = code
        super().__init__(f"{store}: cannot {action}: {cause}")


@dataclass(frozen=True)
class OpenUpload:
    """A multipart upload begun and neither completed nor aborted.

    ``key`` is relative to the store's prefix; ``initiated`` is the server's time (None if it
    gave none).
    """

    key: str
    upload_id: str
    initiated: datetime | None


@dataclass(frozen=True)
class _Credentials:
    key_id: str
    secret: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class _Bucket:
    """Where and how to send requests for one store (see the module's notes)."""

    location: str  # s3://bucket/prefix, for messages
    origin: str  # scheme://host[:port]
    host: str  # the Host header, signed
    path: str  # the bucket's path on the origin: "" (virtual-hosted) or "/bucket" (path-style)
    prefix: str  # the store's prefix and "/", or ""
    region: str
    credentials: _Credentials


def _truthy(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


def _location(store: S3Store) -> str:
    prefix = (store.prefix or "").strip("/")
    return f"s3://{store.config.get('bucket', '')}/{prefix}".rstrip("/")


async def _credentials(store: S3Store, location: str) -> _Credentials:
    provider = store.credential_provider
    if provider is not None:
        try:
            given = provider()
            credential = await given if inspect.isawaitable(given) else given
        except Exception as exc:  # the caller's code: whatever it raises, said in one line
            raise S3UploadsError(
                location, "get credentials", f"credential_provider raised {type(exc).__name__}"
            ) from None
        return _Credentials(
            credential["access_key_id"],
            credential["secret_access_key"],
            credential.get("token"),
        )
    config = store.config
    key_id = config.get("access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID")
    secret = config.get("secret_access_key") or os.environ.get("AWS_SECRET_ACCESS_KEY")
    token = config.get("session_token") or os.environ.get("AWS_SESSION_TOKEN")
    if not key_id or not secret:
        raise S3UploadsError(
            location,
            "sign multipart upload requests",
            "no access key in the store's config or in AWS_ACCESS_KEY_ID and"
            " AWS_SECRET_ACCESS_KEY (credentials from instance metadata or web identity are"
            " not reachable here; let a lifecycle rule abort incomplete uploads)",
        )
    return _Credentials(key_id, secret, token or None)


async def _bucket(store: S3Store) -> _Bucket:
    location = _location(store)
    credentials = await _credentials(store, location)
    try:
        signed = await obstore.sign_async(store, "GET", "_", timedelta(minutes=1))
    except (BaseError, OSError) as exc:
        cause = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise S3UploadsError(location, "find the bucket's endpoint", cause) from None
    url = urlsplit(signed)
    scope = parse_qs(url.query).get("X-Amz-Credential", [""])[0].split("/")
    if len(scope) != 5:
        raise S3UploadsError(location, "find the bucket's region", "unexpected URL")
    prefix = (store.prefix or "").strip("/")
    # The signed path is the bucket's path, the prefix's segments, then "_".
    segments = url.path.split("/")
    drop = 1 + (len(prefix.split("/")) if prefix else 0)
    allow_http = _truthy((store.client_options or {}).get("allow_http")) or _truthy(
        os.environ.get("AWS_ALLOW_HTTP", "")
    )
    if url.scheme != "https" and not allow_http:
        raise S3UploadsError(location, "send requests", f"{url.scheme}:// without AWS_ALLOW_HTTP")
    return _Bucket(
        location=location,
        origin=f"{url.scheme}://{url.netloc}",
        host=url.netloc,
        path="/".join(segments[:-drop]),
        prefix=f"{prefix}/" if prefix else "",
        region=scope[2],
        credentials=credentials,
    )


def _encode(text: str, safe: str = "") -> str:
    """``text`` percent-encoded as SigV4 wants: all but ``A-Za-z0-9-_.~`` (and ``safe``)."""
    return quote(text, safe=safe)


def _signed_headers(
    bucket: _Bucket, method: str, path: str, query: str, when: datetime
) -> dict[str, str]:
    """The headers of a request signed with AWS Signature Version 4 (empty body).

    ``path`` and ``query`` are as sent: encoded, the query's pairs sorted.
    """
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    headers = {"host": bucket.host, "x-amz-content-sha256": _EMPTY_SHA256, "x-amz-date": stamp}
    if bucket.credentials.token:
        headers["x-amz-security-token"] = bucket.credentials.token
    names = sorted(headers)
    signed = ";".join(names)
    canonical = "\n".join(
        [method, path, query, *(f"{n}:{headers[n]}" for n in names), "", signed, _EMPTY_SHA256]
    )
    scope = f"{day}/{bucket.region}/s3/aws4_request"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
    key = f"AWS4{bucket.credentials.secret}".encode()
    for part in (day, bucket.region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={bucket.credentials.key_id}/{scope},"
        f" SignedHeaders={signed}, Signature={signature}"
    )
    return headers


def _xml(body: bytes) -> ElementTree.Element:
    """An S3 answer's XML; one declaring a DTD (S3's never do) is refused unread."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ElementTree.ParseError("a DTD in the answer")
    return ElementTree.fromstring(body)  # noqa: S314 - no DTD, so no entity to expand


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ElementTree.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def _s3_error(body: bytes) -> tuple[str | None, str | None]:
    """The ``Code`` and ``Message`` of an S3 error body (None where it has none)."""
    try:
        root = _xml(body)
    except ElementTree.ParseError:
        return None, None
    return _child(root, "Code"), _child(root, "Message")


async def _send(
    session: aiohttp.ClientSession,
    bucket: _Bucket,
    action: str,
    method: str,
    path: str,
    params: dict[str, str],
    *,
    missing_ok: bool = False,
) -> tuple[int, bytes]:
    """Send a signed request (tried again on a 5xx, a reset or a timeout): status and body.

    An answer other than 2xx (or 404, if ``missing_ok``) raises :class:`S3UploadsError`.
    """
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))
    url = URL(f"{bucket.origin}{path}?{query}", encoded=True)
    answer = await retrying.send(
        session,
        method,
        url,
        lambda: _signed_headers(bucket, method, path, query, datetime.now(timezone.utc)),
        tries=_TRIES,
        backoff=0.25,
        done=lambda status: status < 300 or (status == 404 and missing_ok),
    )
    status, code = answer.status, None
    if status is None:
        cause = answer.failure
    elif status < 300 or (status == 404 and missing_ok):
        return status, answer.body
    else:
        code, message = _s3_error(answer.body)
        cause = f"HTTP {status}" + "".join(f" {t}" for t in (code,) if t)
        cause += f": {message}" if message else ""
    # A server could echo anything: never let the secret through.
    cause = cause.replace(bucket.credentials.secret, "***")[:400]
    raise S3UploadsError(bucket.location, action, cause, status=status, code=code)


@asynccontextmanager
async def _session(session: aiohttp.ClientSession | None) -> AsyncIterator[aiohttp.ClientSession]:
    if session is not None:
        yield session
        return
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as own:
        yield own


def _uploads(body: bytes, prefix: str) -> tuple[list[OpenUpload], dict[str, str] | None]:
    """One ListMultipartUploads page: its uploads, and the markers of the next (None: last)."""
    root = _xml(body)
    found: list[OpenUpload] = []
    for element in root:
        if _local(element.tag) != "Upload":
            continue
        key, upload_id = _child(element, "Key"), _child(element, "UploadId")
        if key is None or not upload_id or not key.startswith(prefix):
            continue
        initiated = _child(element, "Initiated")
        when = datetime.fromisoformat(initiated.replace("Z", "+00:00")) if initiated else None
        found.append(OpenUpload(key[len(prefix) :], upload_id, when))
    if (_child(root, "IsTruncated") or "").lower() != "true":
        return found, None
    markers = {
        "key-marker": _child(root, "NextKeyMarker") or "",
        "upload-id-marker": _child(root, "NextUploadIdMarker") or "",
    }
    return found, markers


async def list_uploads(
    store: S3Store, prefix: str = "", *, session: aiohttp.ClientSession | None = None
) -> list[OpenUpload]:
    """The open multipart uploads of keys starting with ``prefix`` (under the store's prefix).

    Every page of ListMultipartUploads, in S3's order (by key, then time begun). Raises
    :class:`S3UploadsError` if the store refuses or cannot be reached.
    """
    bucket = await _bucket(store)
    async with _session(session) as client:
        return await _list(client, bucket, prefix)


async def _list(client: aiohttp.ClientSession, bucket: _Bucket, prefix: str) -> list[OpenUpload]:
    action = "list multipart uploads"
    params = {"uploads": "", "prefix": bucket.prefix + prefix}
    found: list[OpenUpload] = []
    while True:
        _, body = await _send(client, bucket, action, "GET", bucket.path or "/", params)
        try:
            page, markers = _uploads(body, bucket.prefix)
        except (ElementTree.ParseError, ValueError) as exc:
            raise S3UploadsError(bucket.location, action, f"unreadable answer ({exc})") from None
        found.extend(page)
        if markers is None:
            return found
        if all(params.get(k) == v for k, v in markers.items()):
            raise S3UploadsError(bucket.location, action, "the listing does not advance")
        params.update(markers)


async def abort_upload(
    store: S3Store, key: str, upload_id: str, *, session: aiohttp.ClientSession | None = None
) -> bool:
    """Abort multipart upload ``upload_id`` of ``key``, dropping the parts it holds.

    True if it was aborted now, False if S3 no longer knows it (completed or aborted
    already: NoSuchUpload). Raises :class:`S3UploadsError` on any other refusal.
    """
    bucket = await _bucket(store)
    async with _session(session) as client:
        return await _abort(client, bucket, key, upload_id)


async def _abort(client: aiohttp.ClientSession, bucket: _Bucket, key: str, upload_id: str) -> bool:
    path = f"{bucket.path}/{_encode(bucket.prefix + key, safe='/')}"
    action = f"abort the multipart upload of {key}"
    params = {"uploadId": upload_id}
    status, _ = await _send(client, bucket, action, "DELETE", path, params, missing_ok=True)
    return status != 404


async def abort_uploads(
    store: S3Store,
    keys: Iterable[str],
    *,
    initiated_before: datetime | None = None,
    session: aiohttp.ClientSession | None = None,
) -> list[OpenUpload]:
    """Abort the open uploads of exactly ``keys`` (not of longer keys they are a prefix of);
    return those aborted.

    ``initiated_before`` (timezone-aware) spares the uploads the server says began at or
    after it (one without a time is aborted). One listing of the store's prefix finds them.
    """
    wanted = set(keys)
    if not wanted:
        return []
    bucket = await _bucket(store)
    aborted: list[OpenUpload] = []
    async with _session(session) as client:
        for upload in await _list(client, bucket, ""):
            if upload.key not in wanted:
                continue
            began = upload.initiated
            if initiated_before is not None and began is not None and began >= initiated_before:
                continue
            if await _abort(client, bucket, upload.key, upload.upload_id):
                aborted.append(upload)
    return aborted
