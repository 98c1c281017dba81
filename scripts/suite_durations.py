"""Per-module times of test-suite runs, from the logs of `PYTEST_ADDOPTS=--durations=0 bash .ci/run`.

    python scripts/suite_durations.py --run LABEL=LOG [--run LABEL=LOG ...] --write results/suite_durations.md

Each LOG is the whole output of one run (pytest's `--durations=0` lines, its summary line, and the
`TOTAL <s> s` line of `/usr/bin/time -f "TOTAL %e s"` around `.ci/run`). The table gives, per test module,
the sum of its tests' setup, call and teardown seconds; under pytest-xdist those sums add up the work of
every worker, so compare the runs by their wall time (the summary line), not by the sum.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

DURATION = re.compile(r"^(\d+\.\d+)s (setup|call|teardown)\s+(tests/[\w/]+\.py)::")
SUMMARY = re.compile(r"^=* ?(\d+ (?:passed|failed|errors?|skipped|deselected)\b.*) in (\d+\.\d+)s")
TOTAL = re.compile(r"^TOTAL (\d+(?:\.\d+)?) s$")


def parse(log: Path) -> dict:
    modules: dict[str, float] = defaultdict(float)
    summary, wall, total = None, None, None
    for line in log.read_text(errors="replace").splitlines():
        if m := DURATION.match(line):
            modules[m.group(3)] += float(m.group(1))
        elif m := SUMMARY.match(line):
            summary, wall = m.group(1), float(m.group(2))
        elif m := TOTAL.match(line.strip()):
            total = float(m.group(1))
    if wall is None:
        raise SystemExit(f"{log}: no pytest summary line (was the run cut short?)")
    if not modules:
        raise SystemExit(f"{log}: no --durations lines (run with PYTEST_ADDOPTS=--durations=0)")
    return {"modules": dict(modules), "summary": summary, "wall": wall, "total": total}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=LOG",
                        help="a label for the run (its commit and how it ran) and its log; the ratio compares "
                             "the last run given with the first")
    parser.add_argument("--note", default="", help="a line on where and how the runs were taken")
    parser.add_argument("--write", type=Path, help="the Markdown file to write (else printed)")
    args = parser.parse_args(argv)
    runs = {}
    for spec in args.run:
        label, sep, log = spec.partition("=")
        if not sep:
            parser.error(f"--run takes LABEL=LOG, not '{spec}'")
        runs[label] = parse(Path(log))
    names = sorted({m for r in runs.values() for m in r["modules"]},
                   key=lambda m: -max(r["modules"].get(m, 0.0) for r in runs.values()))
    labels = list(runs)
    lines = [
        "# Test-suite time per module (issue 20, part 5)",
        "",
        "Written by `python scripts/suite_durations.py " + " ".join(f"--run '{s}'" for s in args.run)
        + (f" --note '{args.note}'" if args.note else "") + (f" --write {args.write}" if args.write else "") + "`.",
        "" if not args.note else args.note,
        "",
        "| run | pytest summary | pytest wall s | `.ci/run` wall s (environment included) |",
        "|---|---|---|---|",
        *[f"| {k} | {r['summary']} | {r['wall']:.0f} | {'n/a' if r['total'] is None else round(r['total'])} |"
          for k, r in runs.items()],
        "",
    ]
    if len(labels) >= 2:  # the last run against the first, in the order given
        first, last = runs[labels[0]], runs[labels[-1]]
        ratio = f"{labels[-1]} / {labels[0]}: pytest wall **{last['wall'] / first['wall']:.2f}**"
        if first["total"] and last["total"]:
            ratio += f", `.ci/run` wall (environment included) **{last['total'] / first['total']:.2f}**"
        lines += [f"Ratio, {ratio}.", ""]
    lines += [
        "Per module: the sum of its tests' setup + call + teardown seconds (`--durations=0`); under pytest-xdist "
        "the sum counts every worker's time, so it exceeds the wall time; (none): no such module in that run.",
        "",
        "| module | " + " | ".join(f"{k} s" for k in labels) + " |",
        "|---|" + "---|" * len(labels),
        *[f"| {m} | " + " | ".join(f"{runs[k]['modules'][m]:.0f}" if m in runs[k]["modules"] else "(none)" for k in labels)
          + " |" for m in names],
        "| **sum** | " + " | ".join(f"**{sum(runs[k]['modules'].values()):.0f}**" for k in labels) + " |",
        "",
    ]
    text = "\n".join(lines)
    if args.write:
        args.write.write_text(text)
        print(f"wrote {args.write}")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
