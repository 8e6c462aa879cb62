"""The documentation site's structure: every page in the nav, every public package documented.

The site itself is built by `nox -s docs` and by .ci/run (`mkdocs build --strict`); these
checks need no MkDocs and catch a page or package added without its place in the docs.
"""

from __future__ import annotations

import re
from pathlib import Path

import gpukeras

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def nav_pages() -> set[str]:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config.split("\nnav:\n", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r":\s*([\w/.-]+\.md)\s*$", nav, re.M))


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    pages = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    listed = nav_pages()
    assert pages - listed == set(), "pages missing from mkdocs.yml's nav"
    assert listed - pages == set(), "nav entries without a page"


def test_every_public_package_has_an_api_page():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: (gpukeras\.\w+)", page.read_text(), re.M))
    packages = {
        f"gpukeras.{name}"
        for name in gpukeras.__all__
        if type(getattr(gpukeras, name)).__name__ == "module"
    }
    packages.add("gpukeras.distributed")  # imported on demand, public all the same
    assert packages - documented == set()


def test_docs_extra_and_strict_build_are_wired_up():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^docs = \[.*"mkdocs.*mkdocstrings\[python\]', pyproject, re.M)
    assert "mkdocs build --strict" in (ROOT / ".ci" / "run").read_text()
    assert '"mkdocs", "build", "--strict"' in (ROOT / "noxfile.py").read_text()
