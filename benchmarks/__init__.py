"""Benchmarks of hoverbentley against a synchronous client and native downloaders.

Run with ``nox -s bench`` (or ``python -m benchmarks [--quick]``); never part of the tests.
"""
