"""notion-sync's benchmark suite: the real engine against the emulators, with realistic latency and rate
limits scaled down by one common factor. Kept apart from the tests; run it with ``python -m benchmarks``.

* ``limits``: each service's documented limit and latency, the scaling, and the rate-limit floor;
* ``harness``: a ``notion_sync.core.sandbox.Sandbox`` with N rows, scaled limits, a simulated clock and counters;
* ``naive``: the reference strategy (full scan, one write per row, every run);
* ``engine_alone``: 100,000 rows through the engine with an in-process source and connector, no HTTP;
* ``suite`` and ``report``: the scenarios, the table and the JSON.
"""
