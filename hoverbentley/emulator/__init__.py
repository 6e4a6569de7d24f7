"""An offline emulator of the Hover API (and its file storage), for the demo, tests and benchmarks.

It is an independent implementation of the API: it imports nothing from the client side.
"""

from .config import EmulatorConfig, FaultConfig
from .faults import Fault
from .recording import RecordedRequest
from .runner import Emulator, ExpectedFile, serve

__all__ = [
    "Emulator",
    "EmulatorConfig",
    "ExpectedFile",
    "Fault",
    "FaultConfig",
    "RecordedRequest",
    "serve",
]
