"""Checking a v2 ``JobCreation`` body, and filling in the outputs of the job it creates."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from .v2_types import EXPORT_FORMATS, JobType

_TOP_LEVEL = frozenset({"type", "name", "iTwinId", "specifications"})
_SPECIFICATIONS = frozenset({"inputs", "outputs", "options"})
_GUID = re.compile(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
_BAD_NAME = re.compile(r'["<>|:*?\\/\x00-\x1f\x7f]')


class Refused(Exception):
    """A body the service refuses: 400 with detail ``InvalidProperty`` naming ``target``."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(message)
        self.target = target
        self.message = message


def is_guid(value: object) -> bool:
    """Whether ``value`` is a GUID string."""
    return isinstance(value, str) and _GUID.fullmatch(value) is not None


def check_creation(body: Any, types: Mapping[str, JobType]) -> tuple[JobType, dict[str, Any]]:
    """The job type and the creation body, or :class:`Refused` naming the first wrong field.

    Output names are matched in any case and given back in camelCase.
    """
    if not isinstance(body, dict):
        raise Refused("body", "The body must be a JSON object.")
    for key in body:
        if key not in _TOP_LEVEL:
            raise Refused(key, f"Property '{key}' is not allowed.")
    for key in ("type", "iTwinId", "specifications"):
        if key not in body:
            raise Refused(key, f"Property '{key}' is required.")
    job_type = types.get(body["type"]) if isinstance(body["type"], str) else None
    if job_type is None:
        raise Refused("type", f"Invalid value '{body['type']}' for property 'type'.")
    if not is_guid(body["iTwinId"]):
        raise Refused("iTwinId", f"Invalid value '{body['iTwinId']}' for property 'iTwinId'.")
    name = body.get("name")
    if name is not None and (
        not isinstance(name, str) or not 3 <= len(name) <= 256 or _BAD_NAME.search(name)
    ):
        raise Refused("name", 'The name must have 3 to 256 characters, none of " < > | : * ? \\ /.')
    specs = body["specifications"]
    if not isinstance(specs, dict):
        raise Refused("specifications", "Property 'specifications' must be an object.")
    for key in specs:
        if key not in _SPECIFICATIONS:
            raise Refused(f"specifications.{key}", f"Property '{key}' is not allowed.")
    for key in ("inputs", "outputs"):
        if key not in specs:
            raise Refused(f"specifications.{key}", f"Property '{key}' is required.")
    _check_inputs(job_type, specs["inputs"])
    if "options" in specs and not isinstance(specs["options"], dict):
        raise Refused("specifications.options", "Property 'options' must be an object.")
    outputs = _check_outputs(job_type, specs["outputs"])
    creation = {**body, "specifications": {**specs, "outputs": outputs}}
    return job_type, creation


def _check_inputs(job_type: JobType, inputs: Any) -> None:
    if not isinstance(inputs, dict):
        raise Refused("specifications.inputs", "Property 'inputs' must be an object.")
    for key in inputs:
        if key not in job_type.inputs:
            raise Refused(f"specifications.inputs.{key}", f"Property '{key}' is not allowed.")
    for key in sorted(job_type.required):
        if inputs.get(key) in (None, "", []):
            raise Refused(f"specifications.inputs.{key}", f"Property '{key}' is required.")


def _check_outputs(job_type: JobType, outputs: Any) -> Any:
    target = "specifications.outputs"
    if job_type.exports:
        if not isinstance(outputs, dict):
            raise Refused(target, "Property 'outputs' must be an object.")
        allowed = {"exports"} | (
            {"modelingReference"} if job_type.exports == "reconstruction" else set()
        )
        for key in outputs:
            if key not in allowed:
                raise Refused(f"{target}.{key}", f"Property '{key}' is not allowed.")
        exports = outputs.get("exports", [])
        if not isinstance(exports, list):
            raise Refused(f"{target}.exports", "Property 'exports' must be an array.")
        for n, export in enumerate(exports):
            if not isinstance(export, dict) or export.get("format") not in EXPORT_FORMATS:
                found = export.get("format") if isinstance(export, dict) else export
                raise Refused(f"{target}.exports[{n}].format", f"Invalid export format '{found}'.")
        if not exports and outputs.get("modelingReference") is not True:
            raise Refused(target, "The job must produce at least one output.")
        return outputs
    if not isinstance(outputs, list) or not outputs:
        raise Refused(target, "Property 'outputs' must be a non-empty array of output names.")
    names = []
    for n, text in enumerate(outputs):
        name = job_type.output_name(text) if isinstance(text, str) else None
        if name is None:
            raise Refused(f"{target}[{n}]", f"Invalid output '{text}' for type {job_type.name}.")
        names.append(name)
    return names


def job_outputs(
    job_type: JobType,
    outputs: Any,
    job_id: str,
    new_id: Callable[[], str],
) -> dict[str, Any]:
    """The job's ``specifications.outputs``: a location for every output asked for."""
    if job_type.exports:
        filled: dict[str, Any] = {}
        if outputs.get("modelingReference") is True:
            filled["modelingReference"] = {"location": new_id()}
        if outputs.get("exports"):
            filled["exports"] = [{**e, "location": new_id()} for e in outputs["exports"]]
        return filled
    out: dict[str, Any] = {}
    for name in outputs:
        kind = job_type.outputs[name]
        if kind == "rd":
            out[name] = new_id()
        elif kind == "ref":
            out[name] = {"location": new_id()}
        elif kind == "bkt":
            out[name] = f"bkt:{job_type.name}/{job_id}/{name}.json"
        elif kind == "bktdir":
            out[name] = f"bkt:{job_type.name}/{job_id}/{name}"
        else:
            out[name] = f"emu-detector-{job_id[:8]}/1.0"
    return out
