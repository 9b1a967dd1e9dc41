"""Progress reaches a log file: plain start / progress / end lines for every long phase."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from rich.console import Console

from hrbench.run.progress import Hub, PlainTask, format_duration

sys.path.insert(0, str(Path(__file__).parent))
from test_ray import write_folder_dataset  # noqa: E402 - the same tiny dataset


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_plain_task_prints_start_every_tenth_heartbeat_and_end():
    lines: list[str] = []
    clock = Clock()
    t = PlainTask(lines.append, "ROI traces", 40, every_s=30.0, clock=clock)
    assert lines == ["ROI traces: started, 40 items"]
    for _ in range(3):  # 7.5 %: no line yet
        clock.t += 1.0
        t.advance()
    assert len(lines) == 1
    clock.t += 1.0
    t.advance()  # 10 %
    assert lines[-1] == "ROI traces: 4/40 (10%), 0:04 elapsed, ETA 0:36"
    clock.t += 29.0
    t.tick()  # 29 s since the last line: nothing
    assert len(lines) == 2
    clock.t += 1.0
    t.tick()  # a slow item: the heartbeat speaks at 30 s
    assert lines[-1].startswith("ROI traces: 4/40 (10%), 0:34 elapsed")
    t.advance(35)  # 39/40 -> crosses 20..90 % at once: one line, not eight
    assert len(lines) == 4 and "39/40 (98%)" in lines[-1]
    t.advance()
    assert lines[-1] == "ROI traces: done, 40/40 in 0:34"
    t.advance()
    t.tick()
    assert len(lines) == 5  # nothing after the end


def test_hub_modes():
    quiet = Hub(Console(file=open(os.devnull, "w")), "quiet")  # noqa: SIM115
    adv = quiet.task("x", 3)
    adv(3)  # no output, no error
    lines: list[str] = []
    hub = Hub(Console(file=open(os.devnull, "w")), "verbose")  # noqa: SIM115
    hub.say = lines.append  # type: ignore[method-assign]
    adv = hub.task("epochs", 50)
    adv(1)
    adv(1)
    assert hub.plain and len(lines) == 3  # start + one line per item
    assert format_duration(3725) == "1:02:05" and format_duration(59.6) == "1:00"


RUN = textwrap.dedent("""
    import sys
    import hrbench.run.progress as progress
    progress.PLAIN_EVERY_S = 0.5  # the heartbeat, scaled down for a test
    from hrbench.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def _run_logged(tmp_path: Path, *extra: str) -> tuple[int, str]:
    data = write_folder_dataset(tmp_path / "data")
    log = tmp_path / "log.txt"
    env = {**os.environ, "HRBENCH_CACHE": str(tmp_path / "cache"), "COLUMNS": "200"}
    with log.open("w") as fh:
        rc = subprocess.run(
            [sys.executable, "-c", RUN, "run", "--method", "pos,svr", "--dataset", "folder", "--data-root", str(data),
             "--protocol", "subject_exclusive", "--store", str(tmp_path / "s.sqlite"), "--workers", "2", *extra],
            stdout=subprocess.DEVNULL, stderr=fh, env=env, timeout=300,
        ).returncode
    return rc, log.read_text()


def test_run_with_stderr_in_a_file_logs_every_phase(tmp_path):
    rc, log = _run_logged(tmp_path)
    assert rc == 0, log
    for phase, total in (("ROI traces", 12), ("fit + predict (folds)", 6)):
        lines = [ln for ln in log.splitlines() if ln.startswith(f"{phase}:")]
        assert lines[0] == f"{phase}: started, {total} items", log
        assert re.fullmatch(rf"{re.escape(phase)}: done, {total}/{total} in \d+:\d\d", lines[-1]), log
        middle = lines[1:-1]
        assert middle and all(re.search(r"\d+/\d+ \(\d+%\), \d+:\d\d elapsed, ETA (\d+:\d\d|unknown)", m)
                              for m in middle), log
    assert "\x1b[" not in log  # no terminal control codes in a file
    assert "XNNPACK" not in log


def test_quiet_run_logs_no_progress(tmp_path):
    rc, log = _run_logged(tmp_path, "--quiet")
    assert rc == 0, log
    assert "ROI traces" not in log and "fit + predict" not in log and " fold " not in log
    assert "done in" in log  # the closing summary still appears


@pytest.mark.parametrize("native_logs", [False, True])
def test_litert_chatter_is_silenced_unless_verbose(tmp_path, native_logs):
    code = textwrap.dedent("""
        import numpy as np
        from hrbench.plugin.host import get_registry
        cls = get_registry().landmarker("mediapipe_litert")
        ok, why = cls.available()
        if not ok:
            raise SystemExit(f"unavailable: {why}")
        cls()(np.zeros((64, 64, 3), np.uint8))  # loads the detector models
        print("ran")
    """)
    env = {k: v for k, v in os.environ.items() if k != "HRBENCH_NATIVE_LOGS"}
    if native_logs:
        env["HRBENCH_NATIVE_LOGS"] = "1"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    if out.stdout.startswith("unavailable"):
        pytest.skip(out.stdout)
    assert out.returncode == 0 and "ran" in out.stdout, out.stderr
    assert ("XNNPACK delegate" in out.stderr) == native_logs, out.stderr


def test_phase_outside_a_run_prints_plain_lines(tmp_path):
    from hrbench.run.progress import phase

    log = tmp_path / "log.txt"
    with log.open("w") as fh:
        console = Console(file=fh)  # a file: not a terminal
        with phase("generating data", 4, console) as advance:
            for _ in range(4):
                advance(1)
    lines = log.read_text().splitlines()
    assert lines[0] == "generating data: started, 4 items" and lines[-1].startswith("generating data: done, 4/4 in ")
    assert any("(25%)" in ln for ln in lines)
