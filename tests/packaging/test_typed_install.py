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
