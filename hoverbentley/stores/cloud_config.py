"""obstore stores built from a location and the environment each cloud's tools read.

Credentials come only from the environment (``AWS_*``, ``AZURE_STORAGE_*`` including
``AZURE_STORAGE_CONNECTION_STRING``), never from the URL.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from obstore.exceptions import BaseError
from obstore.store import AzureStore, S3Store

from .._core.urls import http_url_fault
from ..redact import redact_url
from .base import StoreUnavailable
from .location import StoreLocation

if TYPE_CHECKING:
    from obstore.store import AzureConfig, ClientConfig, ObjectStore

#: What to set when a cloud's credentials are missing, by scheme.
CREDENTIALS_HELP = {
    "s3": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or a web identity"
    " token), or run where the instance metadata service answers",
    "az": "set AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or"
    " AZURE_STORAGE_SAS_KEY, or AZURE_STORAGE_CONNECTION_STRING",
}


def obstore_store(location: StoreLocation) -> ObjectStore:
    """The obstore store of ``location`` (``s3`` or ``az``), configured from the
    environment; a configuration obstore refuses is :class:`StoreUnavailable`."""
    prefix = location.prefix or None
    if location.scheme == "s3":
        _check_endpoint()
    _check_plain_http(location.scheme)
    try:
        if location.scheme == "s3":
            return S3Store(location.name, prefix=prefix)
        return _azure_store(location.name, prefix)
    except BaseError as exc:
        text = str(exc)
        if "Account must be specified" in text:
            if os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "").strip():
                raise StoreUnavailable(
                    f"{location.url}: AZURE_STORAGE_CONNECTION_STRING names no AccountName:"
                    " give it as the portal shows it"
                    " (DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…)"
                ) from None
            raise StoreUnavailable(
                f"{location.url}: no Azure storage account given: {CREDENTIALS_HELP['az']}"
            ) from None
        first = (text.strip().splitlines() or [type(exc).__name__])[0]
        raise StoreUnavailable(f"{location.url}: cannot open the store: {first}") from None


def _check_endpoint() -> None:
    """An ``AWS_ENDPOINT_URL`` that is no http(s) URL with a host is :class:`StoreUnavailable`
    (obstore panics on some, where a message naming the variable helps)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    if endpoint and http_url_fault(endpoint.lower()) is not None:  # a scheme in any case
        raise StoreUnavailable(
            f"AWS_ENDPOINT_URL={redact_url(endpoint)!r} is not an http(s) URL with a host"
            " (https://s3.example.com, http://127.0.0.1:9000)"
        )


#: The variables naming a store's endpoint, and the one that allows it over plain HTTP.
_ENDPOINTS = {
    "s3": (("AWS_ENDPOINT_URL", "AWS_ENDPOINT"), "AWS_ALLOW_HTTP"),
    "az": (("AZURE_STORAGE_ENDPOINT", "AZURE_ENDPOINT"), "AZURE_ALLOW_HTTP"),
}


def _check_plain_http(scheme: str) -> None:
    """An ``http://`` endpoint without its ``*_ALLOW_HTTP`` is :class:`StoreUnavailable`
    naming the variable (obstore says only "builder error", on the first request)."""
    names, allow = _ENDPOINTS[scheme]
    if os.environ.get(allow, "").strip():
        return
    for name in names:
        endpoint = os.environ.get(name, "").strip()
        if endpoint.lower().startswith("http://"):
            raise StoreUnavailable(
                f"{name}={redact_url(endpoint)!r} is plain HTTP: set {allow}=true to use it"
                " (requests and credentials then cross the network unencrypted)"
            )


def _azure_store(name: str, prefix: str | None) -> AzureStore:
    """An Azure store from the environment, reading ``AZURE_STORAGE_CONNECTION_STRING`` too."""
    text = os.environ.get("AZURE_STORAGE_CONNECTION_STRING", "").strip()
    if not text:
        return AzureStore(name, prefix=prefix)
    fields = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    config: AzureConfig = {}
    client: ClientConfig = {}
    if "AccountName" in fields:
        config["account_name"] = fields["AccountName"]
    if "AccountKey" in fields:
        config["account_key"] = fields["AccountKey"]
    if "SharedAccessSignature" in fields:
        config["sas_key"] = fields["SharedAccessSignature"]
    if "BlobEndpoint" in fields:
        config["endpoint"] = fields["BlobEndpoint"]
        if fields["BlobEndpoint"].startswith("http://"):
            client["allow_http"] = True
    return AzureStore(name, prefix=prefix, config=config, client_options=client)
