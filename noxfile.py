"""Developer sessions: ``nox -s tests lint typecheck soak bench demo``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (slow soak and crash tests included)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def soak(session: nox.Session) -> None:
    """The fault soak with bigger numbers (``HOVERBENTLEY_SOAK_JOBS``, default 1500)."""
    session.install("-e", ".[test]")
    env = {"HOVERBENTLEY_SOAK_JOBS": session.env.get("HOVERBENTLEY_SOAK_JOBS", "1500")}
    session.run("pytest", "-s", "tests/reliability/test_soak.py", *session.posargs, env=env)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the package."""
    session.install("-e", ".[test]")
    session.run("mypy", "--strict", "hoverbentley")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks against the emulator on loopback; writes benchmarks/RESULTS.md."""
    # The stores benchmark: obstore, a local S3 server and the AWS CLI for `aws s3 sync`
    # (Azurite comes from npm, as for the tests).
    session.install("-e", ".[bench,objectstore]", "moto[server]>=5", "awscli")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Archive the embedded emulator's jobs into ./hoverbentley-demo."""
    session.install(".")
    session.run("hoverbentley", "demo", *session.posargs)
