"""The native contender doing the archive's work: curl resolves, then aria2c downloads.

``hover archive`` lists the jobs, fetches every job's record and follows each file's API
redirect before it downloads from storage. The equal-work pair does the same with native
tools, in one timed command: one ``curl --parallel`` run over a config file that fetches
every page of the job list, every job's details (written to files, as the archive keeps
them) and every API file URL with the same bearer token and current-user parameter,
printing each redirect's ``Location`` (``-w %{redirect_url}``, no body followed); then
``aria2c`` downloads the resolved URLs. Its time is the sum of both.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

#: Jobs per page of the listing, as the archive asks for them.
PAGE = 100


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def curl_config(
    base: str, token: str, user: str, job_ids: list[int], file_urls: list[str], out: Path
) -> str:
    """A curl config file: every request the archive makes to the API, 16 at a time."""
    lines = [
        "parallel",
        "parallel-max = 16",
        "silent",
        "show-error",
        f"header = {_quoted(f'Authorization: Bearer {token}')}",
        'write-out = "%{redirect_url}\\n"',
    ]
    pages = max(1, math.ceil(len(job_ids) / PAGE))
    for page in range(1, pages + 1):
        url = f"{base}/api/v3/jobs?page={page}&per={PAGE}&archived=true&current_user_email={user}"
        lines += [f"url = {_quoted(url)}", 'output = "/dev/null"']
    for job in job_ids:
        url = f"{base}/api/v3/jobs/{job}?current_user_email={user}"
        lines += [f"url = {_quoted(url)}", f"output = {_quoted(str(out / f'job-{job}.json'))}"]
    for url in file_urls:
        lines += [f"url = {_quoted(url)}", 'output = "/dev/null"']
    return "\n".join(lines) + "\n"


def pair_command(
    curl: str, aria2c: list[str], config: Path, locations: Path, aria2_input: Path
) -> list[str]:
    """One shell command: curl over ``config``, the ``Location`` lines into an aria2c input
    (each file named by its line number, as the pre-resolved list is), then ``aria2c``
    (``aria2c`` is its whole command line, reading ``aria2_input``)."""
    to_input = 'awk \'NF { n++; print; print "  out=" n ".bin" }\''
    script = (
        f"{shlex.quote(curl)} -K {shlex.quote(str(config))} > {shlex.quote(str(locations))}"
        f" && {to_input} {shlex.quote(str(locations))} > {shlex.quote(str(aria2_input))}"
        f" && exec {shlex.join(aria2c)}"
    )
    return ["sh", "-c", script]
