"""Settings of the emulator: accounts, generated jobs, file sizes and injected faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

KiB = 1024
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
MiB = 1024 * KiB

#: Size ranges (bytes, inclusive) of generated files, by category.
DEFAULT_SIZES: Mapping[str, tuple[int, int]] = {
    "image": (16 * KiB, 96 * KiB),
    "measurements": (4 * KiB, 192 * KiB),
    "cad_exports": (64 * KiB, 1 * MiB),
}


@dataclass(frozen=True)
class FaultConfig:
    """Random faults, each a probability per request (0..1), drawn from a seeded generator.

    As :attr:`EmulatorConfig.faults`, ``targets`` chooses which hosts they hit: the storage
    hosts (``storage``, the default: Hover's signed storage and the blob container), the
    ``api`` hosts (Hover, Bentley, Reality Management, token endpoints), or ``all``. As an
    entry of :attr:`EmulatorConfig.host_faults` they hit that one host and ``targets`` is unused.
    """

    error_500: float = 0.0
    error_503: float = 0.0
    rate_limit: float = 0.0
    #: Share of 429 answers that carry ``Retry-After``.
    retry_after_share: float = 0.5
    retry_after_seconds: float = 1.0
    reset: float = 0.0
    truncate: float = 0.0
    slow: float = 0.0
    slow_delay: float = 0.05
    latency: tuple[float, float] = (0.0, 0.0)
    targets: Literal["storage", "api", "all"] = "storage"
    seed: int = 7
    #: A body stops flowing (connection open) after ``stall_after`` of its bytes, for
    #: ``stall_seconds``; then the connection is reset.
    stall: float = 0.0
    stall_seconds: float = 60.0
    stall_after: float = 0.5
    #: Never more than this many random faults in a row on one resource (path and stable
    #: query) of one host; ``None``: no cap. Scripted faults are not capped.
    max_in_a_row: int | None = None

    @property
    def any(self) -> bool:
        """Whether any fault or latency is configured."""
        rates = (self.error_500, self.error_503, self.rate_limit, self.reset, self.truncate)
        return any(rates) or self.slow > 0 or self.stall > 0 or self.latency[1] > 0


#: Names of the emulated hosts, for :attr:`EmulatorConfig.host_faults` and outages.
HOSTS = ("hover", "storage", "bentley", "reality", "tokens", "blob")


@dataclass(frozen=True)
class Outage:
    """A window in which a host resets every connection (``reset``) or answers only 503.

    ``host`` is one of :data:`HOSTS`; ``hover`` and ``bentley`` cover everything on their
    port (tokens and Reality Management included). The window opens ``after_seconds`` after
    the emulator starts, or once ``after_requests`` requests to the host were let through
    (both set: whichever is later; neither: at start), and lasts ``seconds`` (``None``: until
    ended).
    """

    host: str
    seconds: float | None = None
    after_seconds: float | None = None
    after_requests: int | None = None
    mode: Literal["reset", "503"] = "reset"

    def __post_init__(self) -> None:
        if self.host not in HOSTS:
            raise ValueError(f"unknown host {self.host!r}; known: {', '.join(HOSTS)}")


#: Faults of webhook deliveries, for :attr:`WebhookConfig.faults` and ``Emulator.deliveries``.
DELIVERY_FAULTS = ("duplicate", "reorder", "hold", "bad-signature")


@dataclass(frozen=True)
class WebhookConfig:
    """How the emulator delivers webhook events, as a provider would: signed POSTs, retried.

    A delivery answered other than 2xx, or whose connection fails, is tried again after
    ``backoff`` seconds, then ``backoff * backoff_factor`` and so on, ``attempts`` times in
    all. ``faults`` gives each event a share (0..1) of a :data:`DELIVERY_FAULTS` fault, drawn
    from a generator seeded with ``seed``.
    """

    attempts: int = 5
    backoff: float = 1.0
    backoff_factor: float = 2.0
    #: Seconds one attempt may take, connection and answer.
    timeout: float = 10.0
    #: Hover's signature scheme (not confirmed publicly): ``APIAuth-HMAC-SHA256`` or the
    #: HMAC-SHA1 ``APIAuth`` of the api-auth library.
    hover_scheme: Literal["APIAuth-HMAC-SHA256", "APIAuth"] = "APIAuth-HMAC-SHA256"
    #: Deliveries in flight at once per webhook; 1 keeps each webhook's events in order.
    concurrency: int = 1
    #: Deliver only to loopback hosts (``127.0.0.1``, ``::1``, ``localhost``); an event for
    #: another host is logged as not sent. The emulator is offline.
    loopback_only: bool = True
    faults: Mapping[str, float] = field(default_factory=dict)
    seed: int = 11

    def __post_init__(self) -> None:
        unknown = sorted(set(self.faults) - set(DELIVERY_FAULTS))
        if unknown:
            raise ValueError(f"unknown delivery faults {unknown}; known: {DELIVERY_FAULTS}")
        if self.attempts < 1 or self.concurrency < 1:
            raise ValueError("attempts and concurrency must be at least 1")


@dataclass(frozen=True)
class EmulatorConfig:
    """What the emulator serves and whom it lets in."""

    #: Generated Hover jobs, besides the two seed jobs.
    jobs: int = 20
    include_seed_jobs: bool = True
    seed: int = 2024
    #: A static bearer token that is always valid.
    token: str = "emu-static-token"  # noqa: S105 - a fixed credential of the offline emulator
    user_emails: frozenset[str] = frozenset({"ops@example.com"})
    user_ids: frozenset[int] = frozenset({1001})
    client_id: str = "emu-client"
    client_secret: str = "emu-client-secret"  # noqa: S105 - offline emulator credential
    #: The refresh token that is valid at start; each refresh replaces it (single use).
    refresh_token: str = "emu-refresh-0"  # noqa: S105 - offline emulator credential
    access_token_ttl: int = 7200
    #: Seconds ``POST /oauth/token`` waits before it answers (processes started together then
    #: really overlap in their refreshes).
    token_delay: float = 0.0
    #: Largest page size the job list grants; ``per`` (or ``per_page``/``page_size``) above it
    #: is clamped.
    max_page_size: int = 100
    default_page_size: int = 25
    list_envelope: Literal["v3", "v2"] = "v3"
    sizes: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_SIZES))
    #: Exact sizes for particular files, by URL path and query (``/api/v2/images/1/image.jpg``).
    size_overrides: Mapping[str, int] = field(default_factory=dict)
    #: Artifacts and images answer 302 to the storage host (as Hover does); else served directly.
    redirect_files: bool = True
    storage_etags: bool = True
    storage_ranges: bool = True
    #: Lifetime of a signed storage URL, in seconds.
    signed_url_ttl: int = 3600
    #: Fixed latency of every API answer, in seconds.
    api_latency: float = 0.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Faults of single hosts (names in :data:`HOSTS`), in place of ``faults`` for them. A
    #: request on the Hover or Bentley port uses its own name first (``tokens``,
    #: ``reality``), then its port's (``hover``, ``bentley``).
    host_faults: Mapping[str, FaultConfig] = field(default_factory=dict)
    #: Scheduled outage windows.
    outages: tuple[Outage, ...] = ()
    bentley: BentleyConfig = field(default_factory=lambda: BentleyConfig())
    #: How webhook events are delivered (see ``Emulator.deliveries``).
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)


@dataclass(frozen=True)
class BentleyConfig:
    """The emulated Bentley iTwin platform: IMS tokens, Reality Modeling v1 and v2, Reality
    Analysis v2."""

    itwins: int = 3
    jobs_per_itwin: int = 40
    include_seed_job: bool = True
    seed: int = 99
    token: str = "emu-bentley-token"  # noqa: S105 - a fixed credential of the offline emulator
    client_id: str = "emu-service-client"
    client_secret: str = "emu-service-secret"  # noqa: S105 - offline emulator credential
    #: The user the tokens act for: a filter without iTwinId lists this user's jobs.
    email: str = "john.smith@example.com"
    access_token_ttl: int = 3600
    default_top: int = 100
    max_top: int = 1000
    #: Percentage a submitted job advances per progress poll.
    progress_step: int = 34
    #: Blob service that holds reality data containers (for instance Azurite's
    #: ``http://127.0.0.1:10000/devstoreaccount1``); ``readaccess`` signs SAS URLs for it.
    blob_account_url: str | None = None
    blob_account_name: str = "devstoreaccount1"
    #: Azurite's published development key (not a secret).
    blob_account_key: str = AZURITE_KEY
    #: Lifetime of the container SAS URLs ``readaccess`` hands out, in seconds.
    sas_ttl: int = 3600
    #: Without ``blob_account_url``, ``readaccess`` points at the emulator's own blob host
    #: (a container per produced output, see ``Emulator.expected_blobs``); ``False``: it
    #: answers 503 ``StorageUnavailable`` instead.
    builtin_blobs: bool = True
    #: The v2 seed jobs of Reality Modeling and Reality Analysis (see ``bentley.v2_seed``).
    include_v2_seed_jobs: bool = True
    #: How fast a running v2 job advances (percent per second; 0: only when told, see
    #: ``Emulator.set_v2_progress``).
    v2_percent_per_second: float = 25.0
    #: How long ``TerminatingOnCancel`` / ``TerminatingOnFailure`` last (0: until the next read).
    v2_terminate_seconds: float = 0.0
    #: From this percentage on, cancelling a v2 job answers 422 ``InvalidChange``.
    v2_cancel_cutoff: float = 95.0
    #: An input id that makes a created v2 job fail half-way (with an ``InputData_Invalid`` error).
    v2_failing_input: str = "0badf00d-0000-4000-8000-00000000fa11"
    #: The ``userId`` of v2 jobs created through the emulator.
    v2_user_id: str = "911edf8b-7a2c-4b2f-9c1e-5d3f2a6b8c01"
