"""What ``import hoverbentley`` gives: the clients of both providers and the archive."""

from __future__ import annotations

import subprocess
import sys

import hoverbentley


def test_the_clients_the_sources_and_the_archive_are_top_level_names() -> None:
    for name in (
        "HoverClient",
        "RealityModelingClient",
        "RealityModelingV2Client",
        "RealityAnalysisClient",
        "RealityManagementClient",
        "WebhooksClient",
        "HoverSource",
        "BentleySource",
        "archive",
        "ArchiveOptions",
        "ArchiveSummary",
        "ObjectTokenStore",
        "TokenStoreError",
        "ArchiveWriteError",
        "InvalidSignature",
        "StaleEvent",
        "MalformedEvent",
        "SyncHoverClient",
        "SyncRealityModelingClient",
        "SyncRealityModelingV2Client",
        "SyncRealityAnalysisClient",
        "SyncRealityManagementClient",
        "SyncWebhooksClient",
    ):
        assert name in hoverbentley.__all__, name
        assert getattr(hoverbentley, name) is not None
    assert sorted(set(hoverbentley.__all__)) == sorted(hoverbentley.__all__)


def test_importing_the_package_loads_no_client_until_one_is_named() -> None:
    """``import hoverbentley`` (as the command line and ``verify`` do) stays cheap: the
    providers' clients come with the first name that needs them, and even then without
    aiohttp (their requests go through the transport's own client); ``hoverbentley.archive``
    is the function, also once its subpackage was imported."""
    code = (
        "import sys, hoverbentley\n"
        "print('aiohttp' in sys.modules, 'hoverbentley.hover.client' in sys.modules)\n"
        "hoverbentley.HoverClient\n"
        "import hoverbentley.archive.manifest\n"
        "print('hoverbentley.hover.client' in sys.modules, callable(hoverbentley.archive))\n"
        "print('aiohttp' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False", "True", "True", "False"]
