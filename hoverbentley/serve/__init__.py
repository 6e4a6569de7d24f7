"""``hoverbentley serve``: an archive kept current by Hover and Bentley webhooks.

Its pieces work alone: :class:`~.journal.Journal` (accepted events, durable before they are
acknowledged), :class:`~.queue.JobQueue` (one archive per job at a time, bounded), and the
``aiohttp`` application of :func:`~.app.create_app` that ties them to the archive pipeline.
"""
