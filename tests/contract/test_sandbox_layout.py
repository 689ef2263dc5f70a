"""The sandbox's layout is what its documents say: every folder has its line in the README's
Layout, every module its place in ``sandbox/README.md``'s Files table, and no module is over
500 lines unless it is a data table (and says so in its first line)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "sandbox"
MAX_LINES = 500


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end != -1 else len(text)]


def _modules() -> list[Path]:
    return sorted(p for p in SANDBOX.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_sandbox_folder_has_a_line_in_the_readme_layout() -> None:
    layout = _section((ROOT / "README.md").read_text(), "## Layout")
    listed = set(re.findall(r"^(sandbox/\S*)", layout, flags=re.MULTILINE))
    folders = {f"{p.parent.relative_to(ROOT).as_posix()}/" for p in _modules()}
    assert folders == listed


def test_every_sandbox_module_is_in_the_files_table() -> None:
    files = _section((SANDBOX / "README.md").read_text(), "## Files")
    missing = [
        p.relative_to(SANDBOX).as_posix()
        for p in _modules()
        if p.name != "__init__.py" and f"`{p.name}`" not in files
    ]
    assert missing == []


def test_no_sandbox_module_is_over_500_lines_unless_it_is_a_data_table() -> None:
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
        and "data table" not in p.read_text().splitlines()[0].lower()
    }
    assert long == {}
