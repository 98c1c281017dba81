"""The README and docs say what holds: generated blocks equal their files and name their command
and commit, links resolve, the README stays a page (200 lines), and every command in the README
parses against a tiny copy of the project (stage arguments, `-S` keys some stage reads, DVC and
Make options), so an example with a wrong arity or a sweep that changes nothing fails here."""
from __future__ import annotations

import importlib
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.readme_tables import BLOCK, pages, render
from stylenorm.components import load_params
from stylenorm.config import ConfigError
from stylenorm.profiles import apply_profile
from tests.conftest import REPO, copy_project

MAX_README_LINES = 200


def test_readme_tables_are_the_committed_metrics():
    readme = (REPO / "README.md").read_text()
    blocks = [m.group("path") for m in BLOCK.finditer(readme)]
    assert "metrics/table.md" in blocks
    assert render(readme, REPO) == readme, "README.md is stale: run python scripts/readme_tables.py"


def test_docs_blocks_are_their_committed_files():
    for page in pages(REPO)[1:]:
        text = page.read_text()
        assert render(text, REPO) == text, f"{page.name} is stale: run python scripts/readme_tables.py"


def test_render_replaces_a_stale_block(tmp_path):
    (tmp_path / "t.md").write_text("new\n")
    stale = "a\n<!-- generated: t.md -->\nold\n<!-- end generated -->\nb\n"
    assert render(stale, tmp_path) == "a\n<!-- generated: t.md -->\nnew\n<!-- end generated -->\nb\n"


def test_every_generated_block_names_its_command_and_commit():
    """A table beside the default's is a copy from somewhere: its file says what command and which
    commit produced it (metrics/table.md is `dvc repro`'s own output, its commit dvc.lock's)."""
    for page in pages(REPO):
        for m in BLOCK.finditer(page.read_text()):
            if m.group("path") == "metrics/table.md":
                continue
            text = (REPO / m.group("path")).read_text()
            commands = re.findall(r"`((?:dvc|python|bash|make) [^`]+)`", text)
            commits = [c for c in re.findall(r"`([0-9a-f]{7,40})[^`]*`", text) if _is_commit(c)]
            assert commands, f"{m.group('path')} (in {page.name}) names no command that produced it"
            assert commits, f"{m.group('path')} (in {page.name}) names no commit of this repository"


def _is_commit(sha: str) -> bool:
    return subprocess.run(["git", "cat-file", "-e", f"{sha}^{{commit}}"], cwd=REPO, capture_output=True).returncode == 0


def test_readme_is_a_page():
    lines = (REPO / "README.md").read_text().count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; reference belongs in docs/"


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    heads = re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in heads}


def test_every_relative_link_resolves():
    broken = []
    for page in pages(REPO):
        for target in LINK.findall(page.read_text()):
            if re.match(r"[a-z]+:", target):
                continue  # http(s), mailto: not checked offline
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            if not dest.exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest.read_text()):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert not broken, "broken links:\n" + "\n".join(broken)


# --- every command in the README ---------------------------------------------------------------

def readme_commands(text: str) -> list[list[list[str]]]:
    """The README's ```bash blocks, each a list of commands (argv lists), comments and line
    continuations resolved, `a && b` split."""
    blocks = []
    for body in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        commands = []
        for line in body.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            while argv:
                cut = argv.index("&&") if "&&" in argv else len(argv)
                commands.append(argv[:cut])
                argv = argv[cut + 1:]
        blocks.append(commands)
    return blocks


class Checker:
    """Checks commands, in order, against a tiny copy of the project (the default params, as a
    user's clone): what a command would change is applied to the copy, so a later command sees it."""

    def __init__(self, root: Path, monkeypatch):
        self.root, self.monkeypatch = root, monkeypatch
        self.outputs_of_quick: list[str] = []  # what the quick dvc commands printed

    def check(self, argv: list[str]) -> None:
        cmd = shlex.join(argv)
        if argv[0] == "make":
            self.make(argv[1:], cmd)
        elif argv[0] == "torchrun":
            module = argv.index("-m")
            self.stage(argv[module + 1], argv[module + 2:], cmd)
        elif argv[:2] == ["python", "-m"] and argv[2].startswith("stages."):
            self.stage(argv[2], argv[3:], cmd)
        elif argv[:3] == ["python", "-m", "stylenorm.profiles"]:
            apply_profile(argv[3], self.root / "params.yaml", self.root / "profiles")
            load_params(self.root / "params.yaml")
        elif argv[:2] == ["python", "-m"] and argv[2].startswith("stylenorm."):
            self.tool(argv[2], argv[3:], cmd)
        elif argv[0] == "dvc":
            self.dvc(argv[1:], cmd)
        elif argv[0] == "python" and argv[1].startswith("scripts/"):
            self.script(argv[1], argv[2:], cmd)
        else:
            pytest.fail(f"README command {cmd!r}: no check for it in tests/test_readme.py")

    def make(self, targets: list[str], cmd: str) -> None:
        makefile = (REPO / "Makefile").read_text()
        for target in targets:
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{cmd}: the Makefile has no target {target!r}"

    def stage(self, module_name: str, args: list[str], cmd: str) -> None:
        """Parse the arguments with the stage's own parser, and check the names it receives against
        the copy's params; the stage's work is not run."""
        module = importlib.import_module(module_name)
        received = {}

        def run_stage(doc, fn, *specs, **options):
            from stylenorm import cli

            def record(*values):
                *values, params = values
                received.update(zip((s[0] for s in specs if s), values))
                if "normalizer" in received:
                    params.normalizer(received["normalizer"])
                if "protocol" in received:
                    params.protocol(received["protocol"])
                return {}
            cli.run_stage(doc, record, *specs, **options)

        self.monkeypatch.setattr(module, "run_stage", run_stage)
        self.monkeypatch.setattr(sys, "argv", [module_name, *args])
        self.monkeypatch.chdir(self.root)
        try:
            module.main()
        except SystemExit as err:
            pytest.fail(f"README command {cmd!r}: the stage rejects its arguments (exit {err.code})")
        assert received, f"{cmd}: the stage did not run"

    def tool(self, module: str, args: list[str], cmd: str) -> None:
        """A project tool that is not a stage: its `--help` runs and lists each word the README passes."""
        proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=self.root, capture_output=True, text=True)
        assert proc.returncode == 0, f"README command {cmd!r}: `{module} --help` failed:\n{proc.stderr[-2000:]}"
        for word in args:
            assert word.split("=")[0] in proc.stdout, f"README command {cmd!r}: {module} does not know {word!r}"

    def dvc(self, args: list[str], cmd: str) -> None:
        from dvc.cli import parse_args
        try:
            ns = parse_args(args)
        except SystemExit:
            pytest.fail(f"README command {cmd!r}: dvc rejects its options")
        for target in getattr(ns, "targets", None) or []:
            if args[0] in ("metrics", "plots"):
                assert target in self.outputs(), f"{cmd}: {target} is not an output of any stage"
        if args[:2] == ["exp", "run"]:
            self.exp_run(ns, cmd)
        elif args[0] == "repro":  # too slow to run here: its options parsed, its targets are stages
            names = {stage.addressing for stage in self._index()}
            assert set(ns.targets or []) <= names, f"{cmd}: no such stage"
        elif args[0] in ("stage", "dag", "status"):  # quick, and works on a fresh clone: run it
            self.outputs_of_quick.append(self.dvc_subprocess(args))

    def script(self, path: str, args: list[str], cmd: str) -> None:
        """A script's arguments parse as its ``parse_args`` (what its ``main`` reads) parses them."""
        spec = importlib.util.spec_from_file_location(Path(path).stem, REPO / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            module.parse_args(args)
        except SystemExit as err:
            pytest.fail(f"README command {cmd!r}: {path} refuses its arguments ({err})")

    def exp_run(self, ns, cmd: str) -> None:
        """Apply every `-S` as DVC does (Hydra overrides, sweeps when queued); the result must load
        strictly, and each key must be read by a stage of the resolved grid: otherwise the run
        changes nothing."""
        from dvc.utils.hydra import apply_overrides, get_hydra_sweeps
        overrides = ns.set_param or []
        sweeps = get_hydra_sweeps({"params.yaml": overrides})
        assert len(sweeps) == 1 or ns.queue, f"{cmd}: a sweep needs --queue"
        before = (self.root / "params.yaml").read_text()
        for point in sweeps:
            (self.root / "params.yaml").write_text(before)
            apply_overrides(self.root / "params.yaml", point["params.yaml"])
            try:
                load_params(self.root / "params.yaml")
            except ConfigError as err:
                pytest.fail(f"README command {cmd!r}: {err}")
            read = self.params_read()
            for override in point["params.yaml"]:
                key = override.split("=", 1)[0].lstrip("+~")
                assert key.startswith("study.") or any(key == p or key.startswith(p + ".") or p.startswith(key + ".")
                                                       for p in read), f"{cmd}: no stage reads {key}, so it changes nothing"
        if ns.queue:
            (self.root / "params.yaml").write_text(before)  # queued runs leave the workspace as it was

    def _index(self):
        from dvc.repo import Repo
        with Repo(str(self.root)) as repo:
            return list(repo.index.stages)

    def params_read(self) -> set[str]:
        from dvc.dependency.param import ParamsDependency
        return {key for stage in self._index() for dep in stage.deps if isinstance(dep, ParamsDependency)
                for key in dep.params}

    def outputs(self) -> set[str]:
        return {out.def_path for stage in self._index() for out in stage.outs}

    def dvc_subprocess(self, args: list[str]) -> str:
        proc = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=self.root, capture_output=True, text=True)
        assert proc.returncode == 0, f"dvc {shlex.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc.stdout


def tiny_copy(dest: Path) -> Path:
    """The project with its default params (a user's clone, nothing run) as a DVC repository."""
    root = copy_project(dest, profile=None)
    (root / ".dvc").mkdir()
    for name in ("config", ".gitignore"):
        shutil.copy2(REPO / ".dvc" / name, root / ".dvc" / name)
    config = (root / ".dvc" / "config").read_text()
    (root / ".dvc" / "config").write_text(config.replace("[core]\n", "[core]\n    no_scm = true\n"))
    return root


def check_readme(text: str, tmp_path: Path, monkeypatch) -> list[Checker]:
    checkers = []
    for i, block in enumerate(readme_commands(text)):
        checker = Checker(tiny_copy(tmp_path / f"block{i}"), monkeypatch)
        for argv in block:
            checker.check(argv)
        checkers.append(checker)
    return checkers


def test_every_readme_command_runs_against_a_tiny_copy(tmp_path, monkeypatch):
    checkers = check_readme((REPO / "README.md").read_text(), tmp_path, monkeypatch)
    printed = [out for c in checkers for out in c.outputs_of_quick]
    assert printed and all("train_seg@mixed-identity-0" in out for out in printed)  # `dvc stage list` lists the grid


@pytest.mark.parametrize("command, why", [
    ("torchrun --nproc_per_node=4 -m stages.train_seg identity 0", "rejects its arguments"),
    ("dvc exp run --queue -S 'fda.apply.beta=0.01,0.05,0.09'", "no stage reads fda.apply.beta"),
    ("dvc exp run -S seg.learning_rate=0.04", "Invalid `--set-param`|seg.learning_rate"),
    ("make bogus", "no target"),
    ("python scripts/compare_experiments.py --protocol mixed --row identity", "compare_experiments.py refuses its arguments"),
    ("python scripts/bogus.py", "No such file or directory"),
])
def test_a_wrong_readme_command_fails(command, why, tmp_path, monkeypatch):
    """The examples this check was written for: the README's old torchrun line (no protocol) and
    its old FDA sweep (fda not among the default's normalizers) fail it."""
    with pytest.raises((Exception, pytest.fail.Exception), match=why):
        check_readme(f"```bash\n{command}\n```\n", tmp_path, monkeypatch)
