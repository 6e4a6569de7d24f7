"""``hoverbentley demo --azurite``: a throwaway local Azurite to archive the demo into."""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import ConfigurationError
from .local_server import free_port, stop, wait_listening

#: Azurite's fixed development account.
ACCOUNT = "devstoreaccount1"
#: The container the demo archives into.
CONTAINER = "hoverbentley-demo"


def azurite_command(tool: str, port: int) -> list[str]:
    """Azurite's blob service (``tool``, its ``azurite-blob``) in memory on 127.0.0.1:``port``,
    taking any API version and the loose checks our requests need, without telemetry."""
    return [
        *(tool, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence"),
        *("--skipApiVersionCheck", "--loose", "--disableTelemetry"),
    ]


@contextmanager
def local_azurite(timeout: float = 30) -> Iterator[str]:
    """Start Azurite in memory on 127.0.0.1 with container :data:`CONTAINER`, point the
    ``AZURE_STORAGE_*`` variables of this process at it, and yield ``az://CONTAINER``."""
    from ..emulator.config import AZURITE_KEY
    from ..emulator.sas import account_sas

    tool = os.environ.get("HOVERBENTLEY_AZURITE") or shutil.which("azurite-blob")
    if not tool:
        raise ConfigurationError(
            "--azurite needs Azurite (npm install -g azurite), or HOVERBENTLEY_AZURITE set to"
            " its azurite-blob"
        )
    port = free_port()
    command = azurite_command(tool, port)
    # The user's own Azurite, from their PATH or HOVERBENTLEY_AZURITE.
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    try:
        wait_listening(proc, port, timeout, "Azurite")
        endpoint = f"http://127.0.0.1:{port}/{ACCOUNT}"
        sas = account_sas(ACCOUNT, AZURITE_KEY, "rwdlac", 3600)
        url = f"{endpoint}/{CONTAINER}?restype=container&{sas}"
        create = urllib.request.Request(url, method="PUT")  # noqa: S310 (loopback http)
        with urllib.request.urlopen(create, timeout=10):  # noqa: S310
            pass
        os.environ.update(
            AZURE_STORAGE_ACCOUNT_NAME=ACCOUNT,
            AZURE_STORAGE_ACCOUNT_KEY=AZURITE_KEY,
            AZURE_STORAGE_ENDPOINT=endpoint,
            AZURE_ALLOW_HTTP="true",
        )
        yield f"az://{CONTAINER}"
    finally:
        stop(proc)
