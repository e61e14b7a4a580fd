"""Benchmarks (``make bench``): each ``tools/bench/bench_*.py`` has ``run()`` -> rows.

A row is a dict: ``benchmark``, ``runtime`` (cpython / micropython), ``value``, ``unit``,
and optionally ``goal`` (text such as ">= 100000") and ``ok`` (True/False against the
goal). Speed and memory are measured here, never asserted by timed tests.
"""
