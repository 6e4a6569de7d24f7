"""What the Bentley handlers share at run time: tokens issued, the catalog, paging secrets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ..bentley_catalog import BentleyCatalog
from ..config import BentleyConfig
from ..faults import FaultPlan
from ..sas import container_sas
from .v2_seed import seed_analysis, seed_modeling
from .v2_store import V2Store
from .v2_types import ANALYSIS, MODELING


@dataclass
class BentleyState:
    """Tokens issued and the catalog, shared by the handlers."""

    config: BentleyConfig
    catalog: BentleyCatalog
    faults: FaultPlan
    issued: dict[str, float] = field(default_factory=dict)
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    tokens_issued: int = 0
    #: Where ``readaccess`` points, and for how long its SAS lives (tests may change both).
    blob_account_url: str | None = None
    sas_ttl: float = 3600.0
    #: The account URL of the emulator's own blob host (set once it listens).
    builtin_blob_url: str = ""
    #: The jobs of Reality Modeling v2 and of Reality Analysis v2.
    modeling: V2Store = field(init=False)
    analysis: V2Store = field(init=False)

    def __post_init__(self) -> None:
        self.blob_account_url = self.config.blob_account_url
        self.sas_ttl = float(self.config.sas_ttl)
        self.modeling = V2Store("modeling", MODELING, self.config)
        self.analysis = V2Store("analysis", ANALYSIS, self.config)
        if self.config.include_v2_seed_jobs and self.catalog.itwins:
            seed_modeling(self.modeling, self.catalog.itwins)
            seed_analysis(self.analysis, self.catalog.itwins)

    @property
    def v2_stores(self) -> tuple[V2Store, V2Store]:
        """Both v2 job stores."""
        return self.modeling, self.analysis

    def v2_reality_data(self) -> dict[str, dict[str, Any]]:
        """The reality data of successful v2 jobs' outputs, keyed by id."""
        out: dict[str, dict[str, Any]] = {}
        for store in self.v2_stores:
            out.update(store.reality_data())
        return out

    def bucket_layout(self, itwin: str) -> list[tuple[str, int, int]]:
        """The blobs of an iTwin's bucket (name, size range), sorted by name."""
        return sorted(entry for store in self.v2_stores for entry in store.bucket_layout(itwin))

    def blob_account(self) -> str | None:
        """Where ``readaccess`` points now: the configured account, else the built-in one."""
        if self.blob_account_url is not None:
            return self.blob_account_url
        return self.builtin_blob_url if self.config.builtin_blobs else None

    def read_sas(self, container: str) -> str | None:
        """A read/list SAS URL of ``container`` on the blob account in use, or ``None``."""
        account_url = self.blob_account()
        if not account_url:
            return None
        config = self.config
        return container_sas(
            account_url,
            config.blob_account_name,
            config.blob_account_key,
            container,
            "rl",
            self.sas_ttl,
        )

    def next_page(
        self, request: web.Request, path: str, key: str, filter_text: str, top: int, end: int
    ) -> dict[str, Any]:
        """``_links`` to the page after one that ended at ``end`` of a filtered listing."""
        params = {
            "$filter": filter_text,
            "$top": str(top),
            "continuationToken": self.continuation(key, top, end),
        }
        origin = f"{request.scheme}://{request.host}"
        return {"next": {"href": f"{origin}{path}/jobs?{urlencode(params, safe='$')}"}}

    def valid(self, token: str) -> bool:
        """Whether ``token`` is the static token or an unexpired issued one."""
        if token == self.config.token:
            return True
        expiry = self.issued.get(token)
        return expiry is not None and expiry > time.time()

    def continuation(self, filter_text: str, top: int, offset: int) -> str:
        """A signed continuation token for ``offset`` of one filtered listing."""
        mac = hmac.new(self.secret, f"{filter_text}\n{top}\n{offset}".encode(), hashlib.sha256)
        raw = f"{offset}:{mac.hexdigest()[:24]}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def offset_of(self, token: str, filter_text: str, top: int) -> int | None:
        """The offset a continuation token names, or ``None`` when it is not ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            offset = int(raw.split(":", 1)[0])
        except (ValueError, UnicodeDecodeError):
            return None
        return offset if self.continuation(filter_text, top, offset) == token else None
