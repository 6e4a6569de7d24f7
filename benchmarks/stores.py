"""Archive throughput into object stores: ``hover archive`` of the bulk job set into a local
directory, into S3 (a local moto server) and Azure Blob Storage (a local Azurite), and the
alternative of archiving to a local directory and then uploading it.

moto and Azurite are started here on 127.0.0.1 and stopped afterwards; a store whose server
cannot be had is reported as skipped. Each run writes a new prefix, deleted (untimed) after
the run once its objects are counted. Azurite is started afresh for every run (see
:func:`_fresh_azurite`).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import statistics
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from hoverbentley.cli.azurite import azurite_command
from hoverbentley.emulator import Emulator, EmulatorConfig
from tests.processes import free_port, running

from .__main__ import (
    CONCURRENCY,
    PY,
    ROOT,
    MiB,
    Row,
    archive_command,
    archive_env,
    fresh,
    interleaved,
)
from .measure import Sample, median, run_measured

HEADER = [
    "destination",
    "contender",
    "files",
    "MiB",
    "wall s",
    "MiB/s",
    "CPU s",
    "peak RSS MiB",
    "server CPU s",
    "bounded by",
]
BUCKET = "hb-bench"
AZURITE_ACCOUNT = "devstoreaccount1"
STORES = {"s3": "S3 (moto)", "az": "Azure (Azurite)"}
LOCAL = "hover archive, to a tmpfs directory"
DIRECT = "hover archive, straight into the store"
THEN_AWS = "hover archive to tmpfs, then aws s3 sync"
THEN_OBSTORE = "hover archive to tmpfs, then an obstore upload (contenders/upload_dir.py)"


@dataclass
class Server:
    """A store's server on loopback: the environment to reach it and its process."""

    kind: str  # "s3" or "az"
    endpoint: str
    env: dict[str, str]
    pid: int

    def url(self, prefix: str) -> str:
        return f"{self.kind}://{BUCKET}/{prefix}"

    def cpu(self) -> float:
        """CPU seconds the server process has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def exited(self) -> bool:
        """Whether the server process has ended (a zombie until it is stopped)."""
        try:
            state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        return state in ("Z", "X")


def _put(url: str) -> None:
    """An empty PUT to a server on loopback (to create a bucket or container)."""
    request = urllib.request.Request(url, method="PUT")  # noqa: S310 (loopback http)
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


@contextmanager
def _moto(work: Path) -> Iterator[Server | str]:
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        yield f"moto[server] is not installed ({exc.name} missing)"
        return
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with running(command, port, work / "moto.log") as pid:
        endpoint = f"http://127.0.0.1:{port}"
        # moto takes the bucket without checking signatures.
        _put(f"{endpoint}/{BUCKET}")
        env = {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        yield Server("s3", endpoint, env, pid)


def azurite_tool() -> str | None:
    """Azurite's blob server: ``HOVERBENTLEY_AZURITE``, the one the tests install, or PATH."""
    cache = Path(
        os.environ.get("HOVERBENTLEY_TEST_TOOLS", Path.home() / ".cache/hoverbentley-test-tools")
    )
    for candidate in (
        os.environ.get("HOVERBENTLEY_AZURITE"),
        str(ROOT.parent / ".ci/node/node_modules/.bin/azurite-blob"),
        str(cache / "node_modules/.bin/azurite-blob"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("azurite-blob")


@contextmanager
def _azurite(work: Path) -> Iterator[Server | str]:
    from hoverbentley.emulator.config import AZURITE_KEY
    from hoverbentley.emulator.sas import account_sas

    tool = azurite_tool()
    if tool is None:
        yield "Azurite is not installed (npm install azurite, or set HOVERBENTLEY_AZURITE)"
        return
    port = free_port()
    with running(azurite_command(tool, port), port, work / "azurite.log") as pid:
        endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
        sas = account_sas(AZURITE_ACCOUNT, AZURITE_KEY, "rwdlac", 3600)
        create = f"{endpoint}/{BUCKET}?restype=container&{sas}"
        _put(create)
        env = {
            "AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT,
            "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY,
            "AZURE_STORAGE_ENDPOINT": endpoint,
            "AZURE_ALLOW_HTTP": "true",
        }
        yield Server("az", endpoint, env, pid)


@contextmanager
def _fresh_azurite(work: Path) -> Iterator[Server]:
    """A new Azurite for one run, stopped after it.

    Azurite in memory keeps the data of deleted blobs until its garbage collection, which runs
    every 10 minutes: one server for the whole table grew by the data set (550 MiB) every run,
    and in a full run on a 23 GiB machine whose tmpfs was mostly full, the kernel's OOM killer
    ended it (3.2 GiB then) in the middle of an upload, which then failed with "Connection
    refused" after obstore's retries, as did the run after it. A server per run holds one
    run's data at most, and no earlier run's collection can land in a timed one.
    """
    with _azurite(work) as got:
        if isinstance(got, str):
            raise RuntimeError(f"Azurite: {got}")
        yield got


def _purge(server: Server, prefix: str) -> int:
    """Delete every object under ``prefix``; how many there were."""
    import obstore
    from obstore.store import AzureStore, S3Store

    saved = dict(os.environ)
    os.environ.update(server.env)
    try:
        store = (
            S3Store(BUCKET, prefix=prefix)
            if server.kind == "s3"
            else AzureStore(BUCKET, prefix=prefix)
        )
        keys = [m["path"] for batch in obstore.list(store) for m in batch]
        for start in range(0, len(keys), 500):
            obstore.delete(store, keys[start : start + 500])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return len(keys)


def aws_cli() -> str | None:
    """The AWS CLI next to this interpreter (the bench session installs it), else on PATH."""
    beside = Path(sys.executable).parent / "aws"
    return str(beside) if beside.exists() else shutil.which("aws")


#: A contender's command, for the server of the run and the prefix it writes.
Command = Callable[[Server, str], list[str]]


def _direct() -> Command:
    return lambda server, prefix: archive_command(server.url(prefix), CONCURRENCY)  # type: ignore[arg-type]


def _aws_sync(aws: str, staged: Path) -> Command:
    def upload(server: Server, prefix: str) -> list[str]:
        sync = [aws, "s3", "sync", str(staged), server.url(prefix)]
        return [*sync, "--endpoint-url", server.endpoint, "--only-show-errors", "--no-progress"]

    return upload


def _obstore_upload(staged: Path) -> Command:
    def upload(server: Server, prefix: str) -> list[str]:
        return [
            *PY,
            "benchmarks.contenders.upload_dir",
            *("--dir", str(staged), "--url", server.url(prefix)),
            *("--concurrency", str(CONCURRENCY)),
        ]

    return upload


def _then(staged: Path, upload: Command) -> Command:
    """Archive to ``staged`` (made fresh), then upload it to the prefix: one shell command, so
    the CPU and peak RSS measured are those of both steps."""

    def command(server: Server, prefix: str) -> list[str]:
        first = shlex.join(archive_command(fresh(staged), CONCURRENCY))
        second = shlex.join(upload(server, prefix))
        # Each step names itself when it fails, so a failure says which one it was.
        return [
            "sh",
            "-c",
            f'{first} >/dev/null || {{ s=$?; echo "archive step: exit $s" >&2; exit $s; }};'
            f' {second} || {{ s=$?; echo "upload step: exit $s" >&2; exit $s; }}',
        ]

    return command


def store_benchmark(
    config: EmulatorConfig, runs: int, work: Path, out: Path
) -> tuple[list[Row], list[str]]:
    """Rows of the table, and one line of ratios for the targets section."""
    # The AWS CLI at the archive's concurrency (its default is 10 requests at once).
    aws_config = work / "aws-config"
    aws_config.write_text(f"[default]\ns3 =\n  max_concurrent_requests = {CONCURRENCY}\n")
    aws = aws_cli()
    staged = out / "staged"
    counter = iter(range(1_000_000))
    with ExitStack() as stack, Emulator.threaded(config) as emu:
        # Per store, how a run gets its server: moto's is started once (deleted objects are
        # freed at once), Azurite afresh for every run (see _fresh_azurite).
        servers: dict[str, Callable[[], AbstractContextManager[Server]]] = {}
        skipped: list[str] = []
        moto = stack.enter_context(_moto(work))
        if isinstance(moto, str):
            skipped.append(f"{STORES['s3']}: {moto}: skipped")
        else:
            started = moto
            servers["s3"] = lambda: nullcontext(started)
        if azurite_tool() is None:
            missing = "Azurite is not installed (npm install azurite, or set HOVERBENTLEY_AZURITE)"
            skipped.append(f"{STORES['az']}: {missing}: skipped")
        else:
            servers["az"] = lambda: _fresh_azurite(work)
        files = len(emu.expected_files())
        total = sum(f.size for f in emu.expected_files())
        base = archive_env(emu, config, None)
        where: dict[str, str] = {LOCAL: "tmpfs"}
        contenders: dict[str, Callable[[], Sample]] = {
            LOCAL: lambda: run_measured(archive_command(fresh(out / "local"), CONCURRENCY), base)
        }

        def into(
            kind: str, attach: Callable[[], AbstractContextManager[Server]], command: Command
        ) -> Callable[[], Sample]:
            def go() -> Sample:
                prefix = f"run-{next(counter)}"
                with attach() as server:
                    env = {**base, **server.env, "AWS_CONFIG_FILE": str(aws_config)}
                    before = server.cpu()
                    try:
                        sample = run_measured(command(server, prefix), env)
                    except RuntimeError as exc:
                        if not server.exited():
                            raise
                        # Said first: the contender's own error is then a refused connection.
                        raise RuntimeError(
                            f"{STORES[kind]}'s server (pid {server.pid}) ended during the run"
                            f" (killed? the kernel log would name an OOM kill); the contender:"
                            f" {exc}"
                        ) from exc
                    used = server.cpu() - before
                    stored = _purge(server, prefix)
                if stored < files:
                    raise RuntimeError(f"{server.url(prefix)} holds {stored} of {files} files")
                return dataclasses.replace(sample, output={**sample.output, "server_cpu": used})

            return go

        for kind, attach in servers.items():
            plan = {DIRECT: _direct()}
            if kind == "s3" and aws:
                plan[THEN_AWS] = _then(staged, _aws_sync(aws, staged))
            elif kind == "s3":
                skipped.append(f"{THEN_AWS}: no AWS CLI (pip install awscli): skipped")
            plan[THEN_OBSTORE] = _then(staged, _obstore_upload(staged))
            for name, command in plan.items():
                label = f"{STORES[kind]}: {name}"
                where[label] = STORES[kind]
                contenders[label] = into(kind, attach, command)
        samples = interleaved(contenders, runs)
    return _rows(samples, where, files, total), [_line(samples, where, total, skipped)]


BOUNDS = {
    "tmpfs": "the archive itself: emulator on loopback, sha256, fsync to tmpfs",
    "S3 (moto)": "moto, a Python server on the same 2 cores (its CPU in the column before)",
    "Azure (Azurite)": "Azurite, a Node server on the same 2 cores (its CPU in the column before)",
}


def _rows(
    samples: dict[str, list[Sample]], where: dict[str, str], files: int, total: int
) -> list[Row]:
    rows: list[Row] = []
    for label, got in samples.items():
        wall = median(got, "wall")
        used = [s.output.get("server_cpu") for s in got]
        server_cpu = "-"
        if all(isinstance(x, float) for x in used):
            server_cpu = f"{statistics.median(float(x) for x in used):.1f}"  # type: ignore[arg-type]
        bound = BOUNDS[where[label]]
        if ", then " in label:
            bound = "both steps in turn (CPU s: both processes'); the upload as the row above"
        rows.append(
            [
                where[label],
                label.split(": ", 1)[-1],
                str(files),
                f"{total / MiB:.0f}",
                f"{wall:.2f}",
                f"{total / MiB / wall:.0f}",
                f"{median(got, 'cpu'):.2f}",
                f"{median(got, 'peak_rss_mib'):.0f}",
                server_cpu,
                bound,
            ]
        )
    return rows


def _line(
    samples: dict[str, list[Sample]], where: dict[str, str], total: int, skipped: list[str]
) -> str:
    speed = {label: total / median(got, "wall") for label, got in samples.items()}
    local = speed[LOCAL]
    parts = [f"a local directory {local / MiB:.0f} MiB/s"]
    for store in STORES.values():
        direct = speed.get(f"{store}: {DIRECT}")
        if direct is None:
            continue
        text = f"{store} {direct / MiB:.0f} MiB/s, {direct / local:.2f}x the local directory"
        for label, other in speed.items():
            if where[label] == store and ", then " in label:
                text += f", {direct / other:.2f}x '{label.split(', then ', 1)[1]}'"
        parts.append(text)
    line = "Archive into object stores (no target set; throughput ratios): " + "; ".join(parts)
    return line + "".join(f"; {s}" for s in skipped)
