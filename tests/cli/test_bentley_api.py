"""``--api v1|v2``: which API the ``bentley`` commands talk to, its base URL and its grammar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import cli_env

from .helpers import FAST, error_line, hb
from .v2server import ACCEPT_V2, TOKEN, V2Service, v2_service

JOB = "796715aa-0000-4000-8000-000000000001"
#: Nothing listens on the discard port: a request sent there fails.
DEAD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def service() -> Iterator[V2Service]:
    with v2_service() as running:
        running.add_job(JOB, "Success")
        yield running


def v2_env(service: V2Service, **extra: str) -> dict[str, str]:
    """The v2 URL in its own variable, the v1 one pointing nowhere."""
    return cli_env(
        BENTLEY_TOKEN=TOKEN, BENTLEY_V2_BASE_URL=service.url, BENTLEY_BASE_URL=DEAD, **extra
    )


def test_v2_jobs_lists_with_the_v2_accept_header_and_columns(service: V2Service) -> None:
    before = len(service.seen)
    result = hb(
        "bentley",
        "jobs",
        "--api",
        "v2",
        "--filter",
        "state eq 'Success'",
        *FAST,
        env=v2_env(service),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{JOB}\tSuccess\tReconstruction\t2025-03-10T11:30:00Z\tjob 796715aa"
    ]
    [seen] = service.seen[before:]
    assert seen.headers["Accept"] == ACCEPT_V2
    assert seen.path_qs == "/reality-modeling/jobs?$filter=state%20eq%20%27Success%27"


def test_bentley_api_variable_chooses_v2_and_the_flag_overrides_it(service: V2Service) -> None:
    by_env = hb("bentley", "job", JOB, "--json", *FAST, env=v2_env(service, BENTLEY_API="v2"))
    assert by_env.returncode == 0, by_env.stderr
    assert json.loads(by_env.stdout)["job"]["state"] == "Success"
    by_flag = hb(
        "bentley",
        "job",
        JOB,
        "--api",
        "v1",
        "--max-retries",
        "0",
        *FAST,
        env=v2_env(service, BENTLEY_API="v2"),
    )
    assert by_flag.returncode == 1
    assert "127.0.0.1:9" in error_line(by_flag)  # the v1 URL, where nothing listens


def test_v2_job_shows_outputs_by_name(service: V2Service) -> None:
    result = hb("bentley", "job", JOB, "--api", "v2", *FAST, env=v2_env(service))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"job {JOB}: job 796715aa [Success] Reconstruction",
        "  iTwin 3fa85f64-5717-4562-b3fc-2c963f66afa6  user 911edf8b-0000-4000-8000-000000000000",
        "  created 2025-03-10T11:30:00Z  started -  ended -",
        "  output modelingReference: 1aee1cb3-0000-4000-8000-000000000000",
        "  output exports/3DTiles: 9d9da8fa-0000-4000-8000-000000000000",
    ]


def test_base_url_flag_is_the_url_of_the_api_chosen(service: V2Service) -> None:
    env = cli_env(BENTLEY_TOKEN=TOKEN, BENTLEY_V2_BASE_URL=DEAD, BENTLEY_BASE_URL=DEAD)
    result = hb("bentley", "job", JOB, "--api", "v2", "--base-url", service.url, *FAST, env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("command", "expression", "word"),
    [
        (["jobs"], "inputId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6", "inputId"),
        (["archive", "OUT"], "outputId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6", "outputId"),
        (["jobs"], "state in ('Success','Failed')", "in operator"),
    ],
    ids=["jobs-inputId", "archive-outputId", "jobs-in"],
)
def test_v2_refuses_what_its_filter_lacks_before_sending(
    service: V2Service, tmp_path: Path, command: list[str], expression: str, word: str
) -> None:
    before = len(service.seen)
    args = [str(tmp_path) + "/out" if a == "OUT" else a for a in command]
    result = hb("bentley", *args, "--api", "v2", "--filter", expression, *FAST, env=v2_env(service))
    assert result.returncode == 2
    assert f"the v2 $filter has no {word}" in error_line(result)
    assert len(service.seen) == before


def test_the_same_filter_goes_to_v1_as_is() -> None:
    # v1 has inputId: the filter is sent, and fails only because nothing listens.
    result = hb(
        "bentley",
        "jobs",
        "--filter",
        "inputId eq 3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "--max-retries",
        "0",
        *FAST,
        env=cli_env(BENTLEY_TOKEN=TOKEN, BENTLEY_BASE_URL=DEAD),
    )
    assert result.returncode == 1
    assert "127.0.0.1:9" in error_line(result)


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["--api", "v1", "--service", "analysis"], {}, "Reality Analysis has no v1 API"),
        ([], {"BENTLEY_API": "v3"}, "BENTLEY_API must be v1 or v2, not 'v3'"),
        (["--api", "v3"], {}, "argument --api: invalid choice: 'v3'"),
    ],
    ids=["analysis-v1", "env-v3", "flag-v3"],
)
def test_api_choice_errors_exit_2(args: list[str], env: dict[str, str], fragment: str) -> None:
    result = hb(
        "bentley", "job", JOB, *args, env=cli_env(BENTLEY_TOKEN=TOKEN, BENTLEY_BASE_URL=DEAD, **env)
    )
    assert result.returncode == 2
    assert fragment in error_line(result)


def test_help_names_the_default_api_and_why() -> None:
    text = " ".join(hb("bentley", "jobs", "--help").stdout.split())
    assert "--api {v1,v2}" in text
    assert "the default, as existing jobs and scripts use it" in text
    assert "a Technology Preview" in text
    assert "BENTLEY_V2_BASE_URL" in text
