"""#21 part 6: the project's modules import each other without a cycle, and a stage that uses no
component (fetch, unify_labels, split) depends on no component's code.

The import graph is test_pipeline.py's: every project module a file imports, at module level or
inside a function (``_imports``), so a cycle hidden in a function body counts too.
"""
from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO
from tests.test_pipeline import _closure, _covered, _imports, _module_file, _stages


def _named_packages(path: Path) -> set[str]:
    """Dotted names ``path`` imports as such: ``import a.b`` and ``from a.b import x`` name ``a.b``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _edges(path: Path) -> set[Path]:
    """The project files whose code runs because ``path`` imports them. ``_imports`` also lists the
    ``__init__.py`` of every package on a dotted name (it runs for each of its modules, which matters for
    DVC dependencies); a module's own enclosing packages, though, are initialised before the module runs,
    so reaching one of them through a deeper name (``stylenorm.normalizers.unit.networks`` inside
    ``normalizers/unit/model.py``) runs nothing: only naming the package itself (``from
    stylenorm.normalizers.unit import x``) is an edge to it."""
    named = _named_packages(path)
    out = set()
    for f in _imports(path):
        if f.name == "__init__.py" and f.parent in path.parents:
            package = ".".join(f.parent.relative_to(REPO).parts)
            if package not in named or f == path:
                continue
        out.add(f)
    return out


def import_graph() -> dict[Path, set[Path]]:
    files = sorted(f for top in ("stylenorm", "stages") for f in (REPO / top).rglob("*.py"))
    return {f: _edges(f) for f in files}


def find_cycles(graph: dict) -> list[list]:
    """Every cycle's strongly connected component (Tarjan), each as one cycle through it: [a, b, ..., a]."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(_cycle_through(graph, component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def _cycle_through(graph: dict, component: set) -> list:
    """One cycle inside a strongly connected component: a shortest path from its first node back to it."""
    start = min(component, key=str)
    paths = {w: [start, w] for w in graph.get(start, ()) if w in component}
    todo = list(paths)
    while start not in paths:
        v = todo.pop(0)
        for w in graph.get(v, ()):
            if w in component and w not in paths:
                paths[w] = paths[v] + [w]
                todo.append(w)
    return paths[start]


def test_cycle_finder_finds_a_cycle_and_passes_a_tree():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"a"}}) == [["a", "a"]]
    assert find_cycles({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_import_edges_skip_only_a_modules_own_packages_reached_through_deeper_names():
    graph = import_graph()
    rel = {f.relative_to(REPO).as_posix(): {g.relative_to(REPO).as_posix() for g in gs} for f, gs in graph.items()}
    model = rel["stylenorm/normalizers/unit/model.py"]
    assert "stylenorm/normalizers/unit/networks.py" in model
    assert "stylenorm/normalizers/unit/__init__.py" not in model  # its own package: already initialised
    assert "stylenorm/translators/__init__.py" in model  # another package: its __init__ runs
    assert "stylenorm/normalizers/__init__.py" in rel["stylenorm/normalizers/fda/__init__.py"]  # `from stylenorm.normalizers import _references`


def test_no_import_cycle_among_the_projects_modules():
    cycles = [" -> ".join(f.relative_to(REPO).as_posix() for f in c) for c in find_cycles(import_graph())]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_a_protocols_base_edit_reruns_only_the_stages_that_import_it():
    """Which stages a docstring edit of stylenorm/protocols/base.py (or of a normalizer's base) makes
    stale: those whose dvc.yaml dependencies cover the file, in the full grid. The data stages use no
    component; fit and normalize use no protocol. (test_pipeline.py's closure test keeps every imported
    file a dependency, so what is left out here is not imported.)"""
    stages = _stages(full=True)

    def depending_on(path: str) -> set[str]:
        return {name.split("@")[0] for name, _, deps, _ in stages
                if any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)}

    data_stages = {"fetch", "unify_labels", "split"}
    protocol_users = depending_on("stylenorm/protocols/base.py")
    assert not protocol_users & (data_stages | {"fit", "normalize"}), protocol_users
    assert {"train_seg", "evaluate", "report"} <= protocol_users  # the stages that do import it still do
    # (the data stages do use stylenorm/registry.py: a domain is a registered component)
    for path in ("stylenorm/normalizers/base.py", "stylenorm/components.py", "stylenorm/normalizers/unit/model.py"):
        assert not depending_on(path) & data_stages, path
    assert {"fit", "normalize"} <= depending_on("stylenorm/normalizers/base.py")


# ----------------------------------------------------------------------------- dvc.yaml's code lists
def _code(path: str) -> bool:
    return path.startswith(("stages/", "stylenorm/"))


def _cell_code(cmd: str, code_deps: list[str]) -> set[str]:
    """The project files a stage cell runs: the closure of its stage module (and stylenorm.launch), of
    the component modules it builds by name (as test_pipeline.py's closure test: a normalizer named in
    the cmd of a stage that calls ``.build()``, the protocols of one that calls ``params.protocol(``),
    and of every module inside a code folder it depends on (a folder dependency is code it runs)."""
    from stylenorm import components
    words = cmd.split()
    start = [_module_file(words[words.index("-m") + 1])] + [_module_file(w) for w in words if w.startswith("stages.")]
    stage_text = start[-1].read_text()
    if ".build()" in stage_text:
        start += [_module_file(f"stylenorm.normalizers.{w}") for w in words if w in components.NORMALIZERS.available()]
    if "params.protocol(" in stage_text:
        named = [w for w in words if w in components.PROTOCOLS.available()] or components.PROTOCOLS.available()
        start += [_module_file(f"stylenorm.protocols.{w}") for w in named]
    start += [f for d in code_deps if (REPO / d).is_dir() for f in sorted((REPO / d).rglob("*.py"))]
    return {f.relative_to(REPO).as_posix() for f in _closure(list(dict.fromkeys(start)))}


def _cells() -> list[tuple[str, str, list[str], set[str]]]:
    """(stage, cmd, code deps, code deps every cell of the stage has) for each cell of the full grid."""
    cells = [(name.split("@")[0], cmd, [d for d in deps if _code(d)]) for name, cmd, deps, _ in _stages(full=True)]
    common: dict[str, set[str]] = {}
    for stage, _, deps in cells:
        common[stage] = common[stage] & set(deps) if stage in common else set(deps)
    return [(stage, cmd, deps, common[stage]) for stage, cmd, deps in cells]


def expected_code_files(cells=None) -> dict[str, list[str]]:
    """Per stage (over every cell of the full grid): the code files dvc.yaml should list one by one,
    those its cells run that neither a folder dependency nor a per-cell one (``${item.protocol}.py``:
    a dependency some cells of the stage lack) covers, the stage module first."""
    needed: dict[str, set[str]] = {}
    for stage, cmd, deps, common in cells or _cells():
        folders = [d for d in deps if (REPO / d).is_dir()]
        per_cell = [d for d in deps if d not in common]
        needed.setdefault(stage, set()).update(f for f in _cell_code(cmd, folders) if not _covered(f, folders + per_cell))
    return {stage: sorted(files, key=lambda f: (not f.startswith("stages/"), f != "stylenorm/launch.py", f))
            for stage, files in needed.items()}


def test_every_code_file_a_stage_lists_is_code_it_runs():
    """The other half of test_pipeline.py's closure test: dvc.yaml lists no code file a stage does not
    run (a file every cell lists: some cell runs it; a per-cell file: that cell runs it), so an edit
    re-runs only the stages that import it. On failure, paste the printed lists."""
    cells = _cells()
    expected = expected_code_files(cells)
    extra = {}
    for stage, cmd, deps, common in cells:
        files = [d for d in deps if not (REPO / d).is_dir()]
        runs = _cell_code(cmd, [d for d in deps if (REPO / d).is_dir()])
        unneeded = {f for f in files if (f not in expected[stage]) if f in common or f not in runs}
        if unneeded:
            extra.setdefault(stage, set()).update(unneeded)
    assert not extra, (f"dvc.yaml lists code the stages do not run: {extra}\nthe files each stage runs:\n"
                       + "\n".join(f"{s}: {files}" for s, files in expected.items()))
