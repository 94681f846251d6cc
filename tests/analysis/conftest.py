import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from demo_data import make_demo_experiment  # noqa: E402


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """A realistic experiment folder (real store, run folders, safetensors checkpoints, samples), built once."""
    return make_demo_experiment(tmp_path_factory.mktemp("demo") / "exp")


@pytest.fixture(scope="session")
def demo_report(demo_dir) -> Path:
    """The HTML report of the demo experiment, built once per session."""
    from sftlab.analysis.report import build_report

    return build_report(demo_dir)
