import subprocess
import sys

from sftlab import __version__
from sftlab.cli import main


def test_version_and_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sftlab {__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "tasks" in out


def test_user_error_is_one_line_exit_2(capsys):
    code = main(["tasks", "show", "no-such-task"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: unknown task 'no-such-task'")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_console_script_exit_code_in_a_real_process():
    proc = subprocess.run(
        [sys.executable, "-m", "sftlab", "tasks", "show", "nope"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:")


def test_unknown_option_is_a_usage_error(capsys):
    assert main(["tasks", "show", "sokoban", "--no-such-flag"]) == 2
