#!/usr/bin/env python3
"""Checks every relative Markdown link in README.md and docs/*.md (and packages/*/README.md):
the file must exist and, for `file#anchor` or `#anchor`, the anchor must be a heading of
that file (GitHub's slug rules: lower case, punctuation dropped, spaces to hyphens).
External links (http:, https:, mailto:) are not fetched. Exits 1 listing each broken link."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def strip_code(text):
    """Drops fenced code blocks and inline code spans, where brackets are not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def anchors(path):
    found, seen = set(), {}
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)
    for m in re.finditer(r"^#{1,6}\s+(.*)$", text, flags=re.M):
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def main():
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
             *sorted((ROOT / "packages").glob("*/README.md"))]
    broken, count = [], 0
    for md in files:
        for m in LINK.finditer(strip_code(md.read_text())):
            target = m.group(1) or m.group(2)
            if re.match(r"^[a-z]+:", target):
                continue
            count += 1
            file_part, _, anchor = target.partition("#")
            dest = (md.parent / file_part).resolve() if file_part else md
            rel = md.relative_to(ROOT)
            if not dest.exists():
                broken.append(f"{rel}: {target}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{rel}: {target}: no heading #{anchor}")
    for b in broken:
        print(f"check-links: BROKEN {b}", file=sys.stderr)
    print(f"check-links: {count} relative links in {len(files)} files, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
