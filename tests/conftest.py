"""Suite-wide settings.

`make test` runs the suite on every core with pytest-xdist (`pytest -n auto`). The workers already fill the cores,
so each worker uses one torch thread (unless OMP_NUM_THREADS says otherwise): two threads per worker on busy cores
make every small op of the tiny model wait for both, which costs more than it gains (docs/performance.md).
"""

import os
import sys


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER") and "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = "1"  # read by torch when it loads, and by every subprocess a test starts
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
