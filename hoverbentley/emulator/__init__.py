"""An offline emulator of the Hover and Bentley APIs, for the demo, tests and benchmarks.

It serves the Hover API and its signed file storage, Bentley IMS tokens, Reality Modeling v1
and Reality Management, each host with injected faults and a log of requests.

It is an independent implementation of the API: it imports nothing from the client side.
"""

from .config import HOSTS, EmulatorConfig, FaultConfig, Outage
from .counters import Counters
from .faults import Fault
from .recording import RecordedRequest
from .runner import Emulator, ExpectedFile, serve

__all__ = [
    "HOSTS",
    "Counters",
    "Emulator",
    "EmulatorConfig",
    "ExpectedFile",
    "Fault",
    "FaultConfig",
    "Outage",
    "RecordedRequest",
    "serve",
]
