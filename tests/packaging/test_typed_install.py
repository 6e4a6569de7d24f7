"""The installed package is typed for its users: mypy finds it from outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def test_mypy_finds_the_installed_package_from_another_directory(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    script = tmp_path / "uses_it.py"
    script.write_text(
        textwrap.dedent(
            """\
            from hoverbentley import HoverClient

            client: HoverClient = HoverClient(token="t", current_user_email="a@b.example")
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "import-not-found" not in result.stdout


def test_every_public_client_names_its_options(tmp_path: Path) -> None:
    import inspect

    import hoverbentley

    clients = [
        hoverbentley.HoverClient,
        hoverbentley.RealityModelingClient,
        hoverbentley.RealityModelingV2Client,
        hoverbentley.RealityAnalysisClient,
        hoverbentley.RealityManagementClient,
        hoverbentley.WebhooksClient,
    ]
    for client in clients:
        parameters = inspect.signature(client).parameters.values()
        assert not [p for p in parameters if p.kind is p.VAR_KEYWORD], client  # help() shows all
        assert "client_id" in inspect.signature(client).parameters, client

    pytest.importorskip("mypy")
    script = tmp_path / "typo.py"
    script.write_text(
        "from hoverbentley import RealityModelingClient\n\n"
        'RealityModelingClient(client_idd="x", client_secret="y")\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout
    assert 'Unexpected keyword argument "client_idd"' in result.stdout


def test_the_sync_clients_have_the_async_clients_types(tmp_path: Path) -> None:
    """mypy sees each sync method's parameters and result, and each constructor's options."""
    pytest.importorskip("mypy")
    script = tmp_path / "sync_use.py"
    script.write_text(
        textwrap.dedent(
            """\
            from hoverbentley import SyncHoverClient, SyncRealityModelingClient
            from hoverbentley.bentley import F

            hover = SyncHoverClient(token="t", current_user_email="a@b.example")
            reveal_type(hover.get_job(1))
            reveal_type(hover.iter_jobs(archived=True))
            hover.get_job("15084303")
            SyncRealityModelingClient(client_idd="x", client_secret="y")
            rm = SyncRealityModelingClient(token="t")
            reveal_type(rm.wait_for_completion("id", max_wait=60))
            reveal_type(next(rm.iter_jobs(F.state.eq("success"))))
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    said: dict[int, str] = {}
    for line in result.stdout.splitlines():
        if line.startswith("sync_use.py:"):
            number = int(line.split(":")[1])
            said[number] = said.get(number, "") + line
    assert 'Revealed type is "hoverbentley.hover.models.Job"' in said[5], result.stdout
    assert "typing.Iterator[hoverbentley.hover.models.JobSummary]" in said[6], result.stdout
    assert 'incompatible type "str"; expected "int"' in said[7], result.stdout
    assert 'Unexpected keyword argument "client_idd"' in said[8], result.stdout
    assert 'Revealed type is "hoverbentley.bentley.models.Job"' in said[10], result.stdout
    assert 'Revealed type is "hoverbentley.bentley.models.Job"' in said[11], result.stdout
