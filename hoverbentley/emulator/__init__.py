"""An offline emulator of the Hover and Bentley APIs, for the demo, tests and benchmarks.

It serves the Hover API and its signed file storage, Bentley IMS tokens, Reality Modeling v1
and v2, Reality Analysis v2, Reality Management, an iTwin bucket each and a blob container per
job output (an Azure Blob subset), each host
with faults of its own, outage windows and stalls, a log of requests and counters; and the
webhooks of both providers: registrations, jobs that complete when told, and signed, retried
deliveries of their events with faults of their own (see ``Emulator``).

It is an independent implementation of the API: it imports nothing from the client side.
"""

from .bentley.v2_seed import SeedV2
from .blobs import ExpectedBlob
from .config import (
    DELIVERY_FAULTS,
    HOSTS,
    BentleyConfig,
    EmulatorConfig,
    FaultConfig,
    Outage,
    WebhookConfig,
)
from .counters import Counters
from .deliveries import DeliveryAttempt
from .faults import Fault
from .recording import RecordedRequest
from .runner import Emulator, ExpectedFile, serve

__all__ = [
    "DELIVERY_FAULTS",
    "HOSTS",
    "BentleyConfig",
    "Counters",
    "DeliveryAttempt",
    "Emulator",
    "EmulatorConfig",
    "ExpectedBlob",
    "ExpectedFile",
    "Fault",
    "FaultConfig",
    "Outage",
    "RecordedRequest",
    "SeedV2",
    "WebhookConfig",
    "serve",
]
