"""Each contender runs as ``python -m benchmarks.contenders.<name> ...`` in its own process."""
