"""The blocking clients: each method is its async client's, run on the client's own loop."""

from __future__ import annotations

from typing import Any, TypeVar

from ..bentley import (
    RealityAnalysisClient,
    RealityManagementClient,
    RealityModelingClient,
    RealityModelingV2Client,
    WebhooksClient,
)
from ..bentley.v2 import V2JobsApi
from ..hover import HoverClient
from .base import SyncClient
from .methods import blocking, constructor, iterating, same

V2 = TypeVar("V2", bound=V2JobsApi)


class SyncHoverClient(SyncClient[HoverClient]):
    """Blocking client of Hover's API: :class:`~hoverbentley.HoverClient`'s methods, without
    ``await``. Use as ``with SyncHoverClient(...) as hover:``."""

    @constructor(HoverClient)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open(HoverClient, args, kwargs)

    url_for = same(HoverClient.url_for)
    get_job_record = blocking(HoverClient.get_job_record)
    get_job = blocking(HoverClient.get_job)
    list_jobs_page = blocking(HoverClient.list_jobs_page)
    iter_jobs = iterating(HoverClient.iter_jobs)
    get_jobs = blocking(HoverClient.get_jobs)
    get_measurements = blocking(HoverClient.get_measurements)
    download = blocking(HoverClient.download)
    create_webhook = blocking(HoverClient.create_webhook)
    verify_webhook = blocking(HoverClient.verify_webhook)
    list_webhooks_page = blocking(HoverClient.list_webhooks_page)
    iter_webhooks = iterating(HoverClient.iter_webhooks)
    list_webhooks = blocking(HoverClient.list_webhooks)
    delete_webhook = blocking(HoverClient.delete_webhook)


class SyncRealityModelingClient(SyncClient[RealityModelingClient]):
    """Blocking client of Reality Modeling v1 (:class:`~hoverbentley.RealityModelingClient`)."""

    @constructor(RealityModelingClient)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open(RealityModelingClient, args, kwargs)

    url_for = same(RealityModelingClient.url_for)
    jobs_url = same(RealityModelingClient.jobs_url)
    list_jobs = blocking(RealityModelingClient.list_jobs)
    jobs_page = blocking(RealityModelingClient.jobs_page)
    iter_jobs = iterating(RealityModelingClient.iter_jobs)
    get_job = blocking(RealityModelingClient.get_job)
    get_job_record = blocking(RealityModelingClient.get_job_record)
    create_job = blocking(RealityModelingClient.create_job)
    update_job = blocking(RealityModelingClient.update_job)
    submit_job = blocking(RealityModelingClient.submit_job)
    cancel_job = blocking(RealityModelingClient.cancel_job)
    delete_job = blocking(RealityModelingClient.delete_job)
    get_progress = blocking(RealityModelingClient.get_progress)
    wait_for_completion = blocking(RealityModelingClient.wait_for_completion)
    create_workspace = blocking(RealityModelingClient.create_workspace)
    get_workspace = blocking(RealityModelingClient.get_workspace)
    delete_workspace = blocking(RealityModelingClient.delete_workspace)
    engine_limits = blocking(RealityModelingClient.engine_limits)


class SyncV2JobsApi(SyncClient[V2]):
    """What the blocking Reality Modeling v2 and Reality Analysis v2 clients share."""

    url_for = same(V2JobsApi.url_for)
    jobs_url = same(V2JobsApi.jobs_url)
    list_jobs = blocking(V2JobsApi.list_jobs)
    jobs_page = blocking(V2JobsApi.jobs_page)
    iter_jobs = iterating(V2JobsApi.iter_jobs)
    create_job = blocking(V2JobsApi.create_job)
    get_job = blocking(V2JobsApi.get_job)
    get_job_record = blocking(V2JobsApi.get_job_record)
    cancel_job = blocking(V2JobsApi.cancel_job)
    get_progress = blocking(V2JobsApi.get_progress)
    get_messages = blocking(V2JobsApi.get_messages)
    wait_for_completion = blocking(V2JobsApi.wait_for_completion)
    get_bucket = blocking(V2JobsApi.get_bucket)
    list_files = blocking(V2JobsApi.list_files)


class SyncRealityModelingV2Client(SyncV2JobsApi[RealityModelingV2Client]):
    """Blocking client of Reality Modeling v2 (:class:`~hoverbentley.RealityModelingV2Client`)."""

    @constructor(RealityModelingV2Client)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open(RealityModelingV2Client, args, kwargs)


class SyncRealityAnalysisClient(SyncV2JobsApi[RealityAnalysisClient]):
    """Blocking client of Reality Analysis v2 (:class:`~hoverbentley.RealityAnalysisClient`)."""

    @constructor(RealityAnalysisClient)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open(RealityAnalysisClient, args, kwargs)

    list_detectors = blocking(RealityAnalysisClient.list_detectors)
    get_detector = blocking(RealityAnalysisClient.get_detector)


class SyncRealityManagementClient(SyncClient[RealityManagementClient]):
    """Blocking client of Reality Management (:class:`~hoverbentley.RealityManagementClient`).

    To archive Bentley outputs with :func:`hoverbentley.sync.archive`, open it on the
    modeling client's loop: ``rm.same_loop(SyncRealityManagementClient, auth=rm.auth)``.
    """

    @constructor(RealityManagementClient)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open(RealityManagementClient, args, kwargs)

    url_for = same(RealityManagementClient.url_for)
    get_reality_data = blocking(RealityManagementClient.get_reality_data)
    iter_reality_data = iterating(RealityManagementClient.iter_reality_data)
    read_access = blocking(RealityManagementClient.read_access)


class SyncWebhooksClient(SyncClient[WebhooksClient]):
    """Blocking client of iTwin Webhooks v2 (:class:`~hoverbentley.WebhooksClient`)."""

    @constructor(WebhooksClient)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._open(WebhooksClient, args, kwargs)

    url_for = same(WebhooksClient.url_for)
    create_webhook = blocking(WebhooksClient.create_webhook)
    activate_webhook = blocking(WebhooksClient.activate_webhook)
    deactivate_webhook = blocking(WebhooksClient.deactivate_webhook)
    update_webhook = blocking(WebhooksClient.update_webhook)
    get_webhook = blocking(WebhooksClient.get_webhook)
    list_webhooks = blocking(WebhooksClient.list_webhooks)
    delete_webhook = blocking(WebhooksClient.delete_webhook)
