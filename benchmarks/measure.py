"""Run one contender in its own process and measure it: wall time, CPU seconds, peak RSS."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One run of one contender."""

    wall: float
    cpu: float
    peak_rss_mib: float
    output: dict[str, object]
    #: The 1-minute load average when the run ended (other work on the machine included).
    load: float = 0.0


def run_measured(command: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """Run ``command`` through :mod:`benchmarks.launch`; CPU time and peak RSS are its own.

    The child may print a JSON object as its last line; it is returned as ``output``.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as usage_file:
        launcher = [sys.executable, "-m", "benchmarks.launch", usage_file.name]
        proc = subprocess.run(
            [*launcher, *command],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env or os.environ.copy(),
            check=False,
        )
        wall = time.perf_counter() - started
        err.seek(0)
        errors = err.read()
        usage = json.loads(usage_file.read() or "{}")
    data = proc.stdout
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:6])} failed with exit status {proc.returncode}:"
            f" {errors.decode(errors='replace')[-1500:]}"
        )
    output: dict[str, object] = {}
    for line in reversed(data.decode().strip().splitlines()):
        if line.startswith("{"):
            output = json.loads(line)
            break
    # A contender that times its own work (without interpreter start-up) reports "elapsed".
    elapsed = output.get("elapsed")
    if isinstance(elapsed, (int, float)):
        wall = float(elapsed)
    load = os.getloadavg()[0]
    return Sample(wall, float(usage["cpu"]), usage["maxrss_kib"] / 1024, output, load)


def median(samples: Sequence[Sample], attr: str) -> float:
    """The median of one measured attribute."""
    return float(statistics.median(getattr(s, attr) for s in samples))
