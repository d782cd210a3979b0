#!/usr/bin/python3
"""Renders the manual (README.md, docs/*.md, ci/github/README.md) with a real
CommonMark parser (markdown-it-py, Debian's python3-markdown-it) and fails on
what a reader would trip over:

  - a code fence that does not close: the block runs to the end of the file,
    or a line inside it starts with a fence followed by text (a closing fence
    carries no text, so such a line closes nothing and the prose after it
    renders as code);
  - a relative link to a file that does not exist, to an #anchor its page
    does not have, or to anything outside the repository;
  - a path in inline code that names a folder of the repository (such as
    `exec/team.h`, `ci/test`, `corpus/remote/` or `<hakmem/pool.h>`), or a
    source file under any relative folder (`shared/notes/x.md`), and does
    not exist. Words in capitals (`corpus/TARGET`) and <placeholders> are
    names for something, not paths, and are skipped.

Usage: tests/docs_render.py [--root DIR] [FILE...]
  FILE defaults to the manual's pages under DIR (default: this repository).
Exit status: 0 clean, 1 a problem (each printed as FILE:LINE: what), 2 usage.
"""

import argparse
import os
import re
import sys
import unicodedata

try:
    from markdown_it import MarkdownIt
except ImportError:  # pragma: no cover
    sys.exit("docs_render: needs markdown-it-py (apt-get install python3-markdown-it)")

# Folders of the repository whose names never start anything else in prose.
NOT_REPO = {"build", ".git", ".cache"}
# Paths the allocator's public headers are included by.
INCLUDE_ROOTS = {"hakmem": "allocator/include/hakmem"}


def default_pages(root):
    pages = ["README.md"]
    docs = os.path.join(root, "docs")
    if os.path.isdir(docs):
        pages += sorted("docs/" + f for f in os.listdir(docs) if f.endswith(".md"))
    if os.path.isfile(os.path.join(root, "ci/github/README.md")):
        pages.append("ci/github/README.md")
    return pages


def inline_text(token):
    """The plain text of an inline token (code spans without their backticks)."""
    out = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return "".join(out)


def slug(text):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = text.strip().lower()
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in "LN":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


class Page:
    def __init__(self, root, rel, md):
        self.root, self.rel = root, rel
        self.path = os.path.join(root, rel)
        with open(self.path, encoding="utf-8") as f:
            self.text = f.read()
        self.lines = self.text.splitlines()
        self.tokens = md.parse(self.text)
        self.anchors = set()
        seen = {}
        for i, tok in enumerate(self.tokens):
            if tok.type == "heading_open":
                base = slug(inline_text(self.tokens[i + 1]))
                n = seen.get(base, 0)
                seen[base] = n + 1
                self.anchors.add(base if n == 0 else f"{base}-{n}")


class Checker:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.md = MarkdownIt("commonmark").enable("table")
        self.pages = {}
        self.problems = []
        self.repo_dirs = {
            d for d in os.listdir(self.root) if os.path.isdir(os.path.join(self.root, d)) and d not in NOT_REPO
        }

    def page(self, rel):
        if rel not in self.pages:
            self.pages[rel] = Page(self.root, rel, self.md)
        return self.pages[rel]

    def report(self, page, line, what):
        self.problems.append(f"{page.rel}:{line}: {what}")

    def inside_root(self, path):
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root + os.sep)

    # ------------------------------------------------------------- fences
    def check_fences(self, page):
        for tok in page.tokens:
            if tok.type != "fence" or not tok.map:
                continue
            start, end = tok.map
            char, width = tok.markup[0], len(tok.markup)
            closer = re.compile(r"^ {0,3}" + re.escape(char) + "{" + str(width) + r",}\s*$")
            if end - 1 <= start or not closer.match(page.lines[end - 1]):
                self.report(page, start + 1, f"code fence {tok.markup} never closes: the rest of the file renders as code")
            body_end = end - 1 if end - 1 > start and closer.match(page.lines[end - 1]) else end
            stray = re.compile(r"^ {0,3}" + re.escape(char) + r"{3,}\s*\S")
            for n in range(start + 1, body_end):
                if stray.match(page.lines[n]):
                    self.report(
                        page,
                        n + 1,
                        "a fence followed by text inside a code block: it closes nothing "
                        "(a closing fence carries no text), so the prose after it renders as code",
                    )

    # -------------------------------------------------------------- links
    def check_link(self, page, line, href):
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):  # http:, mailto:, file: ...
            return
        target, _, anchor = href.partition("#")
        if target:
            path = os.path.normpath(os.path.join(os.path.dirname(page.path), target))
            if not self.inside_root(path):
                self.report(page, line, f"link '{href}' points outside the repository")
                return
            if not os.path.exists(path):
                self.report(page, line, f"link '{href}': no such file")
                return
            rel = os.path.relpath(os.path.realpath(path), self.root)
        else:
            rel = page.rel
        if anchor:
            if not rel.endswith(".md") or not os.path.isfile(os.path.join(self.root, rel)):
                self.report(page, line, f"link '{href}': an anchor into something that is not a Markdown page")
            elif anchor not in self.page(rel).anchors:
                self.report(page, line, f"link '{href}': {rel} has no heading with anchor #{anchor}")

    # ------------------------------------------------------- inline paths
    def path_words(self, code):
        for word in code.split():
            word = word.strip("`'\",;()[]")
            if word.startswith("<") and word.endswith(">"):  # <hakmem/pool.h>
                word = word[1:-1]
            word = re.sub(r"(:\d+)+:?$", "", word)  # file.cpp:78:5
            word = word.rstrip(".:")
            if "/" not in word or re.search(r"[<>*{}$|\\…]|\.\.\.", word.lstrip(".").lstrip("/")):
                continue
            if word.startswith("../"):
                yield word, word
                continue
            parts = [p for p in word.split("/") if p]
            if not parts:
                continue
            if any(re.fullmatch(r"[A-Z][A-Z0-9_]*", p) for p in parts):  # corpus/TARGET
                continue
            first = parts[0]
            if first in INCLUDE_ROOTS:
                yield word, os.path.join(INCLUDE_ROOTS[first], *parts[1:])
            elif first in self.repo_dirs:
                yield word, os.path.join(*parts)
            elif not word.startswith("/") and first not in NOT_REPO and re.search(r"\.(md|h|cpp|def|sh|py|txt|json|yml)$", word):
                yield word, os.path.join(*parts)  # a source file under a folder the repository does not have

    def check_inline_paths(self, page, line, code):
        for word, rel in self.path_words(code):
            path = os.path.normpath(os.path.join(self.root, rel))
            if not self.inside_root(path):
                self.report(page, line, f"`{word}` points outside the repository")
            elif not os.path.exists(path):
                self.report(page, line, f"`{word}`: no such path in the repository")

    # --------------------------------------------------------------- page
    def check(self, rel):
        page = self.page(rel)
        self.check_fences(page)
        for tok in page.tokens:
            if tok.type != "inline":
                continue
            line = tok.map[0] + 1 if tok.map else 0
            for child in tok.children or []:
                if child.type == "link_open":
                    self.check_link(page, line, child.attrs.get("href", ""))
                elif child.type == "code_inline":
                    self.check_inline_paths(page, line, child.content)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.root, "README.md")):
        print(f"docs_render: {args.root} has no README.md", file=sys.stderr)
        return 2
    checker = Checker(args.root)
    files = args.files or default_pages(checker.root)
    for rel in files:
        rel = os.path.relpath(os.path.abspath(rel), checker.root) if os.path.isabs(rel) else rel
        if not os.path.isfile(os.path.join(checker.root, rel)):
            print(f"docs_render: no such page {rel}", file=sys.stderr)
            return 2
        checker.check(rel)
    for p in checker.problems:
        print(p)
    print(f"docs_render: {len(files)} page(s), {len(checker.problems)} problem(s)")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
