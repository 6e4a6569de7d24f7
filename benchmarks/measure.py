"""Run one contender in its own process and measure it: wall time, CPU seconds, peak RSS."""

from __future__ import annotations

import json
import os
import shlex
import signal
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


#: How much of a failed child's stderr its error quotes (the end, from a line's start): enough
#: for the whole of an obstore error, whose cause is in the "Debug source" part after the
#: first line, and for the last exception of a traceback.
STDERR_QUOTED = 4000
#: How much of the command its error names (a ``sh -c`` script can run to hundreds).
COMMAND_QUOTED = 100


class ContenderFailed(RuntimeError):
    """A contender exited unsuccessfully; ``stderr`` is all it wrote there."""

    def __init__(self, command: Sequence[str], returncode: int, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        self.stderr = stderr
        name = shlex.join(command)
        if len(name) > COMMAND_QUOTED:
            name = name[: COMMAND_QUOTED - 3] + "..."
        how = f"exit status {returncode}"
        # benchmarks.launch exits with 256 - N when its child was killed by signal N.
        if returncode < 0 or returncode > 128:
            number = -returncode if returncode < 0 else 256 - returncode
            if number in {s.value for s in signal.Signals}:
                how += f" (killed by {signal.Signals(number).name}?)"
        super().__init__(f"{how}: {_tail(stderr) or '(nothing on stderr)'} [command: {name}]")


def _tail(text: str) -> str:
    """The last :data:`STDERR_QUOTED` characters of ``text``, from the start of a line."""
    text = text.strip()
    if len(text) <= STDERR_QUOTED:
        return text
    tail = text[-STDERR_QUOTED:]
    return "..." + tail[tail.find("\n") :] if "\n" in tail else "..." + tail


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
        raise ContenderFailed(command, proc.returncode, errors.decode(errors="replace"))
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
