"""The service's metrics, in a registry of its own (two services in one process never mix).

``prometheus-client`` is the ``serve`` extra: importing this module without it raises a
:class:`~hoverbentley.errors.ConfigurationError` that says how to install it.
"""

from __future__ import annotations

from ..errors import ConfigurationError

try:
    from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
except ImportError:  # pragma: no cover - the extra is part of the test install
    raise ConfigurationError(
        "hoverbentley serve needs prometheus-client: pip install 'hoverbentley[serve]'"
    ) from None

__all__ = ["CONTENT_TYPE", "ServeMetrics"]

#: From a small job archived in milliseconds to one that waited hours (behind a long
#: catch-up sweep, an outage of the destination, or a drained service's restart).
_LATENCY_BUCKETS = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    *(60, 120, 300, 600, 1800, 3600, 2 * 3600, 6 * 3600, 12 * 3600, 24 * 3600),
)


class ServeMetrics:
    """Counters of events and archives, the queue's depth, and event-to-archived latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_received = Counter(
            "hoverbentley_serve_events_received",
            "Webhook deliveries received, by provider",
            ["provider"],
            registry=r,
        )
        self.events_rejected = Counter(
            "hoverbentley_serve_events_rejected",
            "Webhook deliveries refused or not acted on, by provider and reason",
            ["provider", "reason"],
            registry=r,
        )
        self.events_accepted = Counter(
            "hoverbentley_serve_events_accepted",
            "Events journaled (duplicates not counted), by provider",
            ["provider"],
            registry=r,
        )
        self.jobs_archived = Counter(
            "hoverbentley_serve_jobs_archived", "Jobs archived", ["provider"], registry=r
        )
        self.jobs_retried = Counter(
            "hoverbentley_serve_jobs_retried",
            "Failed archives of a job queued again for a later attempt",
            ["provider"],
            registry=r,
        )
        self.jobs_failed = Counter(
            "hoverbentley_serve_jobs_failed",
            "Jobs recorded as failed after their last attempt",
            ["provider"],
            registry=r,
        )
        self.files = Counter(
            "hoverbentley_serve_files_downloaded", "Files downloaded into OUT", registry=r
        )
        self.bytes = Counter(
            "hoverbentley_serve_downloaded_bytes", "Bytes downloaded into OUT", registry=r
        )
        self.queue_depth = Gauge(
            "hoverbentley_serve_queue_depth", "Jobs waiting to be archived", registry=r
        )
        self.queue_depth_max = Gauge(
            "hoverbentley_serve_queue_depth_max",
            "The largest queue depth since the service started",
            registry=r,
        )
        self.sweeps = Counter(
            "hoverbentley_serve_sweeps", "Catch-up sweeps run, by outcome", ["outcome"], registry=r
        )
        self._max_depth = 0
        self.latency = Histogram(
            "hoverbentley_serve_event_to_archived_seconds",
            "From a job's first pending event received to the job archived",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )

    def depth(self, depth: int) -> None:
        """Note the queue's depth (its high-water mark too)."""
        self.queue_depth.set(depth)
        if depth > self._max_depth:
            self._max_depth = depth
            self.queue_depth_max.set(depth)

    def text(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)
