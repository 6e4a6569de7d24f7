"""What ``import hoverbentley`` gives: the clients of both providers and the archive."""

from __future__ import annotations

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
