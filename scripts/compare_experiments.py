"""Cells of several DVC experiments in one table, paired by seed, with the report's intervals and tests.

A grid row is one normalizer fitted once per fit seed, so two settings of one normalizer (UNIT's
``apply.align: stretch`` beside ``pad``; UNIT fitted at another size) cannot be two rows of one
``dvc repro``: DVC cannot point a second row's stages at the first row's fit. Each setting is then an
experiment (``dvc exp run -n NAME -S ...``) and this script tables them together: each ``--row
LABEL=REV:NORMALIZER`` reads the evaluate outputs ``metrics/eval/<protocol>/<normalizer>-seed<k>.json`` of
that normalizer at REV (a DVC experiment's name, or any git revision) from the DVC cache, and the rows go
through the report's own table code (``stylenorm.report.grid_table`` and ``markdown``): mean and Student-t
interval per row, every row paired by seed with identity and with every row before it, Holm over all of
them. The rows must share the segmenter seeds (same seed = same initialisation and data order), and an
identity row is the baseline. The Markdown names each row's experiment, its commit and the params in which
it differs from the commit it was run from. The rows' params must agree on the pair (``study.source`` /
``study.target``), the protocol's section and the seeds; the table is built from those params (intervals at
``report.confidence``), with a column per class subset of the pair's domains, as the report does. A
parameter added after a row's commit takes this checkout's value (the Markdown lists such keys).

    dvc exp run -n ups-stretch -S unit.apply.new_size=132
    dvc exp run -n ups-pad -S unit.apply.new_size=132 -S unit.apply.align=pad
    python scripts/compare_experiments.py --protocol mixed --row identity=ups-stretch:identity \\
        --row "UNIT stretch=ups-stretch:unit" --row "UNIT pad=ups-pad:unit" --markdown results/x.md
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

import dvc.api

CODE = Path(__file__).resolve().parents[1]  # the project whose library (and params schema) this runs
sys.path.insert(0, str(CODE))

from stylenorm import components, domains, paths  # noqa: E402
from stylenorm.report import BASELINE, classes_learned, grid_table, markdown, pair_subsets  # noqa: E402


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()


def resolve(repo: Path, rev: str) -> str:
    """An experiment's name -> its git ref (refs/exps/.../NAME); anything else is taken as a git revision."""
    refs = [r for r in _git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").splitlines() if r.endswith(f"/{rev}")]
    if len(refs) > 1:
        raise SystemExit(f"experiment name {rev!r} is ambiguous: {', '.join(refs)}")
    ref = refs[0] if refs else rev
    try:
        _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"{rev!r}: neither a DVC experiment (dvc exp list) nor a git revision") from None
    return ref


def parse_row(text: str) -> tuple[str, str, str]:
    """``LABEL=REV:NORMALIZER`` -> (label, rev, normalizer)."""
    label, sep, where = text.partition("=")
    rev, sep2, normalizer = where.rpartition(":")
    if not (sep and sep2 and label and rev and normalizer):
        raise SystemExit(f"--row {text!r}: expected LABEL=REV:NORMALIZER (e.g. 'UNIT pad=ups-pad:unit')")
    return label, rev, normalizer


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def raw_params(repo: Path, rev: str) -> dict:
    """params.yaml as committed at ``rev``."""
    return yaml.safe_load(_git(repo, "show", f"{rev}:params.yaml"))


def _overlay(now: dict, then: dict, prefix: str = "") -> tuple[dict, list[str]]:
    """``now``'s keys with ``then``'s values where ``then`` has them; and the keys ``then`` lacked."""
    out, filled = {}, []
    for k, v in now.items():
        if k not in then:
            out[k], filled = v, filled + [f"{prefix}{k}"]
        elif isinstance(v, dict) and isinstance(then[k], dict):
            out[k], more = _overlay(v, then[k], f"{prefix}{k}.")
            filled += more
        else:
            out[k] = then[k]
    return out, filled


def params_at(repo: Path, rev: str) -> tuple[object, list[str]]:
    """params.yaml at ``rev``, loaded and checked as a stage of this code loads it; keys the revision predates
    (a parameter added since) take this checkout's values, and are returned by name."""
    merged, filled = _overlay(yaml.safe_load((CODE / "params.yaml").read_text()), raw_params(repo, rev))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "params.yaml"
        path.write_text(yaml.safe_dump(merged))
        return components.load_params(path), filled


def params_changed(repo: Path, ref: str) -> dict:
    """params.yaml keys whose value at ``ref`` differs from its parent commit's (what an experiment set with -S)."""
    new, old = _flat(raw_params(repo, ref)), _flat(raw_params(repo, f"{ref}^"))
    return {k: v for k, v in new.items() if old.get(k) != v}


def agreed(params: dict[str, object], what: str, key: str, get):
    """The one value of ``get(p)`` over every row's params, or the error naming the rows that differ."""
    values = {label: get(p) for label, p in params.items()}
    if len({json.dumps(v, sort_keys=True, default=str) for v in values.values()}) > 1:
        raise SystemExit(f"the rows differ in {key} ({what}): " + "; ".join(f"{l}: {v}" for l, v in values.items()))
    return next(iter(values.values()))


def load_cell(repo: Path, ref: str, protocol: str, normalizer: str, seed: int) -> dict:
    path = paths.eval_metrics_path(protocol, normalizer, seed).as_posix()
    try:
        with dvc.api.open(path, repo=str(repo), rev=ref) as f:
            return json.load(f)
    except Exception as e:  # noqa: BLE001 -- dvc raises several kinds for a path absent at a revision
        raise SystemExit(f"{path} at {ref}: {type(e).__name__}: {e} (did that experiment run "
                         f"evaluate@{protocol}-{normalizer}-{seed}?)") from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, each --row checked for its form (what the README's example is tested with)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, default=Path("."), help="the project repository (default: the current folder)")
    ap.add_argument("--protocol", required=True, help="the protocol whose cells are compared (e.g. mixed)")
    ap.add_argument("--row", action="append", required=True, metavar="LABEL=REV:NORMALIZER",
                    help="a row: that normalizer's cells at REV (experiment name or git revision); repeat, in table order")
    ap.add_argument("--seeds", type=int, nargs="+", help="segmenter seeds (default: study.seeds of params.yaml)")
    ap.add_argument("--markdown", type=Path, help="write the table here, with the command and each row's source")
    ap.add_argument("--json", type=Path, help="write the table (the report's flat keys, by row label) here")
    args = ap.parse_args(argv)
    args.rows = [parse_row(r) for r in args.row]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repo = args.repo.resolve()

    rows = args.rows
    refs = {label: resolve(repo, rev) for label, rev, _ in rows}
    loaded = {label: params_at(repo, ref) for label, ref in refs.items()}  # each row's own experiment
    params = {label: p for label, (p, _) in loaded.items()}
    filled = sorted({k for _, keys in loaded.values() for k in keys})
    # One table needs one pair, one protocol setting and one set of seeds: every row's params must agree.
    pair = agreed(params, "the pair each row was trained on", "study.source / study.target", lambda p: p.study.pair)
    agreed(params, "the protocol's settings", args.protocol, lambda p: p.protocols.get(args.protocol))
    seeds = args.seeds or list(agreed(params, "the segmenter seeds; or pass --seeds", "study.seeds", lambda p: list(p.study.seeds)))
    if len(seeds) < 2:
        raise SystemExit("paired t-tests need two or more seeds (--seeds)")
    first = params[rows[0][0]]
    protocol = first.protocol(args.protocol, labels={d: domains.label(d) for d in pair})
    subsets = pair_subsets(pair)
    labels = [label for label, _, _ in rows]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"row labels must differ: {labels}")
    if sum(n == BASELINE for _, _, n in rows) != 1:
        raise SystemExit(f"exactly one row must be {BASELINE!r} (the baseline every other row is paired with)")
    cells, sources = {}, []
    for label, rev, normalizer in rows:
        ref = refs[label]
        key = BASELINE if normalizer == BASELINE else label  # the report's table keys its baseline by name
        cells[key] = {s: load_cell(repo, ref, args.protocol, normalizer, s) for s in seeds}
        commit = _git(repo, "rev-parse", "--short", ref)
        if ref.startswith("refs/exps/"):
            changed = ", ".join(f"`{k}={v}`" for k, v in sorted(params_changed(repo, ref).items()))
            sources.append(f"- {label}: `{normalizer}` of experiment `{rev}` (commit `{commit}`, run from "
                           f"`{_git(repo, 'rev-parse', '--short', ref + '^')}`" + (f", {changed}" if changed else "") + ")")
        else:
            sources.append(f"- {label}: `{normalizer}` at `{rev}` (commit `{commit}`)")
    cells = {BASELINE: cells.pop(BASELINE), **cells}
    fit_seeds = list(first.study.fit_seeds)
    table = grid_table(cells, {}, protocol, domains={}, confidence=first.report.confidence,
                       resamples=first.report.bootstrap_resamples, boot_seed=first.report.bootstrap_seed, subsets=subsets)
    text = markdown(table, protocol, seeds=seeds, fit_seeds=fit_seeds, confidence=first.report.confidence,
                    learned=classes_learned(cells, protocol))
    print(text)
    command = "python scripts/compare_experiments.py " + " ".join(
        ([f"--repo {args.repo}"] if args.repo != Path(".") else []) + [f"--protocol {args.protocol}", *(f"--row '{r}'" for r in args.row)]
        + ([f"--seeds {' '.join(map(str, args.seeds))}"] if args.seeds else [])
        + ([f"--markdown {args.markdown}"] if args.markdown else []) + ([f"--json {args.json}"] if args.json else []))
    if args.json:
        finite = lambda o: ({k: finite(v) for k, v in o.items()} if isinstance(o, dict)  # noqa: E731
                            else None if isinstance(o, float) and math.isnan(o) else o)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"protocol": args.protocol, "seeds": seeds, "rows": {l: [r, n] for l, r, n in rows},
                                         "table": finite(table)}, indent=2) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        later = (f"\n\nParameters the rows' commits predate, read at today's values: {', '.join(f'`{k}`' for k in filled)}."
                 if filled else "")
        args.markdown.write_text(text + "\nRows:\n" + "\n".join(sources) + later + f"\n\nGenerated by `{command}` with the code "
                                 f"of `{_git(CODE, 'rev-parse', '--short', 'HEAD')}`.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
