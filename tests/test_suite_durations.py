"""scripts/suite_durations.py: per-module sums of pytest's --durations lines, against hand sums."""
from __future__ import annotations

import pytest

from scripts import suite_durations

LOG = """\
[bootstrap] ready
============================= slowest durations ==============================
12.50s call     tests/test_pipeline.py::test_a
2.25s setup    tests/test_pipeline.py::test_a
0.25s teardown tests/test_pipeline.py::test_b[param-1]
3.00s call     tests/test_dispatch.py::test_c
(2 durations < 0.005s hidden.  Use -vv to show these durations.)
===== 4 passed, 9 deselected, 271 warnings in 20.00s (0:00:20) =====
TOTAL 31.5 s
"""


def test_modules_are_summed_and_runs_compared(tmp_path):
    before, after = tmp_path / "before.log", tmp_path / "after.log"
    before.write_text(LOG)
    after.write_text(LOG.replace("12.50s", "2.50s").replace("in 20.00s", "in 10.00s").replace("TOTAL 31.5", "TOTAL 21.0"))
    run = suite_durations.parse(before)
    assert run["modules"] == {"tests/test_pipeline.py": 15.0, "tests/test_dispatch.py": 3.0}
    assert (run["summary"], run["wall"], run["total"]) == ("4 passed, 9 deselected, 271 warnings", 20.0, 31.5)
    out = tmp_path / "out.md"
    suite_durations.main(["--run", f"before={before}", "--run", f"after={after}", "--write", str(out)])
    text = out.read_text()
    assert "pytest wall **0.50**" in text and "environment included) **0.67**" in text
    assert "| tests/test_pipeline.py | 15 | 5 |" in text and "| **sum** | **18** | **8** |" in text


def test_a_cut_short_run_is_refused_by_name(tmp_path):
    log = tmp_path / "cut.log"
    log.write_text(LOG.split("=====")[0])
    with pytest.raises(SystemExit, match="cut.log: no pytest summary line"):
        suite_durations.parse(log)
