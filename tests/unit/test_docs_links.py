"""README.md and docs/*.md hold together: relative links and their anchors resolve, the README
stays a front door (at most README_MAX_LINES), each docs page says whom it is for, and the
repository paths the pages name in backticks exist (issue 21: the docs moved out of README).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testbed import settings

ROOT = settings.ROOT
README_MAX_LINES = 260
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
# A backticked path under one of the project's folders (not generated ones like .testbed/).
_TOP_DIRS = ("lambdas", "statemachines", "seed", "localstack", "mockapi", "infra", "testbed",
             "tests", "benchmarks", "scripts", "docs")
_PATH = re.compile("`((?:" + "|".join(_TOP_DIRS) + r")/[\w./-]*)(?:::[\w\[\]-]+)?`")
GENERATED = ("infra/cdk.out", "infra/node_modules")  # written by `make synth` / `make cdk-cli`


def _prose(text: str) -> str:
    """The text without fenced code blocks and inline code: links there are examples."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = candidate = slug(heading)
        number = 0
        while candidate in found:  # GitHub numbers repeated headings: x, x-1, x-2
            number += 1
            candidate = f"{base}-{number}"
        found.add(candidate)
    return found


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in _LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            problems.append(f"{target}: no file {linked.relative_to(ROOT) if linked.is_relative_to(ROOT) else linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            problems.append(f"{target}: no heading with anchor #{anchor} in {linked.name}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == [], f"{page.relative_to(ROOT)}: fix or remove these links"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_repository_paths_exist(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    missing = sorted({p for p in _PATH.findall(text)
                      if not p.startswith(GENERATED) and not (ROOT / p.rstrip("/")).exists()})
    assert missing == [], f"{page.relative_to(ROOT)} names paths that do not exist: {missing}"


def test_readme_is_a_front_door() -> None:
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move reference material to docs/")


@pytest.mark.parametrize("page", PAGES[1:], ids=lambda p: str(p.relative_to(ROOT)))
def test_each_docs_page_says_whom_it_is_for(page: Path) -> None:
    head = page.read_text(encoding="utf-8").splitlines()[:4]
    assert any(line.startswith("*Who this is for:") for line in head), (
        f"{page.relative_to(ROOT)}: start with a line '*Who this is for: ...*' under the title")


def test_every_docs_page_is_in_the_index() -> None:
    index = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    missing = [p.name for p in PAGES[1:] if p.name != "README.md" and f"]({p.name})" not in index]
    assert missing == [], f"docs/README.md does not link {missing}"


def test_the_checker_finds_a_broken_link_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## A `code` heading: yes\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#a-code-heading-yes) [gone](missing.md) [bad](other.md#nope) [web](https://x.org)\n"
        "`[in code](missing.md)`\n```\n[in a block](missing.md)\n```\n",
        encoding="utf-8")
    problems = broken_links(page)
    assert len(problems) == 2
    assert "missing.md" in problems[0] and "#nope" in problems[1]
