"""Every downloadable file of a Hover job: artifacts and images, with stable names."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from .._core.names import safe_segment, url_extension
from .models import Job


@dataclass(frozen=True)
class JobFile:
    """One file a job offers.

    ``key`` is the artifact's path in the payload (``measurements.full_json``) or
    ``images.<id>``; ``format`` is the file type from the URL (``pdf``, ``xml``, ``jpg``);
    ``relpath`` is a collision-free relative path made only of ids and sanitised keys.
    """

    job_id: int
    model_id: int
    kind: str  # "artifact" or "image"
    key: str
    format: str
    url: str
    relpath: str


@dataclass(frozen=True)
class SkippedModel:
    """A model whose files were not listed because it is not complete."""

    job_id: int
    model_id: int
    state: str | None
    failure_reason: str | None


@dataclass(frozen=True)
class JobFiles:
    """The files of a job and the models left out."""

    files: list[JobFile]
    skipped: list[SkippedModel]


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    if isinstance(node, str):
        if node.startswith(("http://", "https://")):
            yield path, node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))


def job_files(
    job: Job, raw: Mapping[str, Any] | None = None, *, all_models: bool = False
) -> JobFiles:
    """List every artifact URL (walking the whole ``artifacts`` tree) and image of ``job``.

    ``raw`` is the decoded JSON payload; pass it to keep artifact keys this package does not
    model yet. Models that are not complete are skipped unless ``all_models``.
    """
    raw_models: list[Any] = []
    if raw is not None and isinstance(raw.get("models"), list):
        raw_models = raw["models"]
    files: list[JobFile] = []
    skipped: list[SkippedModel] = []
    for index, model in enumerate(job.models):
        if not model.is_complete and not all_models:
            reason = model.failure_reason if isinstance(model.failure_reason, str) else None
            skipped.append(SkippedModel(job.id, model.id, model.state, reason))
            continue
        raw_model = raw_models[index] if index < len(raw_models) else None
        if isinstance(raw_model, Mapping) and raw_model.get("id") == model.id:
            artifacts = raw_model.get("artifacts")
        else:
            artifacts = msgspec.to_builtins(model.artifacts) if model.artifacts else None
        model_dir = f"models/{model.id}"
        for path, url in _walk(artifacts, ()):
            fmt = url_extension(url, default="bin")
            *groups, leaf = [safe_segment(p) for p in path] or ["file"]
            name = leaf if leaf.endswith(f".{fmt}") else f"{leaf}.{fmt}"
            relpath = "/".join([model_dir, *groups, name])
            files.append(JobFile(job.id, model.id, "artifact", ".".join(path), fmt, url, relpath))
        for image in model.images or []:
            fmt = url_extension(image.url, default="jpg")
            files.append(
                JobFile(
                    job.id,
                    model.id,
                    "image",
                    f"images.{image.id}",
                    fmt,
                    image.url,
                    f"{model_dir}/images/{image.id}.{fmt}",
                )
            )
    return JobFiles(files, skipped)
