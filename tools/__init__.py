"""Host tools (CPython only): gates, benchmarks, simulator, verifiers, console client."""
