"""Suite-wide settings for parallel runs.

`make test` runs the suite on every core with pytest-xdist (`pytest -n auto`). Under it:

- each worker uses one torch thread (unless OMP_NUM_THREADS says otherwise): the workers already fill the cores,
  and two threads per worker on busy cores make every small op of the tiny model wait for both
  (docs/performance.md);
- the tests marked `slow` are handed out first, so the long ones run side by side from the start and the short ones
  fill the gaps, instead of one long test starting last and running alone.

In every run, Ray's workers (the Ray executor tests) run at normal priority: Ray starts them at nice 15 by default,
and next to another busy process (the other worker, anything else on the machine) they got almost no CPU, which made
the local Ray executor test take minutes instead of seconds.
"""

import os
import sys


def _under_xdist() -> bool:
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def pytest_configure(config):
    os.environ.setdefault("RAY_worker_niceness", "0")  # read by the raylet of every Ray instance a test starts
    if _under_xdist() and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when it loads, and by every subprocess a test starts
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    if _under_xdist():  # every worker sorts the same collection the same way, as xdist requires
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: file order otherwise
