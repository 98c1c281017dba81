"""The README's and docs' results are generated: each block equals the file it names."""
from __future__ import annotations

from scripts.readme_tables import BLOCK, pages, render
from tests.conftest import REPO


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
