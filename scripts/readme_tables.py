"""Copy the pipeline's generated tables into README.md and docs/*.md, between their markers.

    python scripts/readme_tables.py          # after `dvc repro`: README's results = metrics/table.md
    python scripts/readme_tables.py --check  # exit 1 if a page differs (tests/test_readme.py runs this)

Each block ``<!-- generated: <path> -->`` ... ``<!-- end generated -->`` in a page holds the file
at <path> verbatim, so the pages' numbers are rebuilt by `dvc repro` (or the benchmark that wrote
the file), never typed.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

BLOCK = re.compile(r"(<!-- generated: (?P<path>\S+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def render(readme: str, root: Path) -> str:
    def fill(m: re.Match) -> str:
        path = root / m.group("path")
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing (run `dvc repro` first)")
        return m.group(1) + path.read_text() + m.group(4)
    return BLOCK.sub(fill, readme)


def pages(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that every page is up to date")
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    for page in pages(root):
        text = page.read_text()
        fresh = render(text, root)
        if fresh == text:
            continue
        if args.check:
            sys.exit(f"{page.relative_to(root)}: a generated block differs from its file; run python scripts/readme_tables.py")
        page.write_text(fresh)


if __name__ == "__main__":
    main()
