"""Benchmarks and load tests of zqmap (run from the repo root, e.g. ``python -m bench.run``).

:mod:`bench.harness` is the one server/browser harness, shared with ``tests/e2e``.
"""
