"""One name for a follow-up: rename "step" identifiers and prose to "follow-up" (issue 16.5).

Identifiers: every NAME token whose underscore-separated parts include `step`/`steps`
(`next_step`/`NextStep`, the interview's free-text field, stay). Prose: comments, strings with
spaces in them, and Markdown. Idempotent: run it again after merging a branch.

    python rename.py ROOT [--check]
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from pathlib import Path

KEEP = {"next_step", "NextStep", "next_steps", "debrief_sweep_steps_total"}
PARTS = {"step": "follow_up", "steps": "follow_ups", "Step": "FollowUp", "Steps": "FollowUps"}


def rename_name(name: str) -> str:
    if name in KEEP or "tep" not in name:
        return name
    parts = name.split("_")
    new = [PARTS.get(p, p) for p in parts]
    return "_".join(new)


PROSE = [
    (re.compile(r"\b([Ff])ollow-up steps\b"), r"\1ollow-ups"),
    (re.compile(r"\b([Ff])ollow-up step\b"), r"\1ollow-up"),
    (re.compile(r"(?<![Nn]ext )(?<!two )\bsteps\b(?! by)(?!\s*\d)"), "follow-ups"),
    (re.compile(r"(?<![Nn]ext )(?<!by )(?<!in )(?<!first )\bstep\b(?! by)(?! of progress)(?!\s*\d)"), "follow-up"),
    (re.compile(r"\bSteps\b"), "Follow-ups"),
    (re.compile(r"(?<![Nn]ext )\bStep\b(?! by)"), "Follow-up"),
]
CODE = re.compile(r"`[^`\n]*`")
IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def code_span(m: re.Match[str]) -> str:
    return IDENT.sub(lambda i: rename_name(i.group(0)), m.group(0))


def prose(text: str) -> str:
    out = []
    pos = 0
    for m in CODE.finditer(text):
        out.append(_prose_plain(text[pos : m.start()]))
        out.append(code_span(m))
        pos = m.end()
    out.append(_prose_plain(text[pos:]))
    return "".join(out)


def _prose_plain(text: str) -> str:
    for pattern, repl in PROSE:
        text = pattern.sub(repl, text)
    return text


# Names that mean something else where they stand.
SKIP = {("app/reports/sql.py", "steps"), ("app/debriefs/public_router.py", "steps")}


FIELD = re.compile(r"\{[^{}]*\}")


def fstring(text: str) -> str:
    """Prose outside the braces, names inside them."""
    out, pos = [], 0
    for m in FIELD.finditer(text):
        out.append(prose(text[pos : m.start()]))
        out.append(IDENT.sub(lambda i: rename_name(i.group(0)), m.group(0)))
        pos = m.end()
    out.append(prose(text[pos:]))
    return "".join(out)


def python(source: str, rel: str = "") -> str:
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    lines = source.splitlines(keepends=True)
    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    for tok in tokens:
        if tok.type == tokenize.NAME:
            new = tok.string if (rel, tok.string) in SKIP else rename_name(tok.string)
        elif tok.type == tokenize.COMMENT:
            new = prose(tok.string)
        elif tok.type == tokenize.STRING:
            prefix = tok.string[: len(tok.string) - len(tok.string.lstrip("rRbBuUfF"))]
            if "f" in prefix.lower():
                new = fstring(tok.string)
            elif " " in tok.string or "\n" in tok.string:
                new = prose(tok.string)
            else:
                continue
        elif tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1) and " " in tok.string:
            new = prose(tok.string)
        else:
            continue
        if new != tok.string:
            edits.append((tok.start, tok.end, new))
    # Apply from the end so positions stay valid.
    for (sr, sc), (er, ec), new in reversed(edits):
        if sr == er:
            line = lines[sr - 1]
            lines[sr - 1] = line[:sc] + new + line[ec:]
        else:
            first = lines[sr - 1][:sc]
            last = lines[er - 1][ec:]
            lines[sr - 1 : er] = [first + new + last]
    return "".join(lines)


TEMPLATE = [
    (re.compile(r"\{% for step in due_today"), "{% for follow_up in due_today"),
    (re.compile(r"\{\{ step\."), "{{ follow_up."),
    (re.compile(r"\}\} step\{\{"), "}} follow-up{{"),
    (re.compile(r"team's steps still"), "team's follow-ups still"),
]


def template(text: str) -> str:
    """The templates' own words and loop names; the candidate's "next steps" list stays."""
    for pattern, repl in TEMPLATE:
        text = pattern.sub(repl, text)
    return text


def main() -> None:
    root = Path(sys.argv[1])
    check = "--check" in sys.argv
    changed = []
    for path in sorted(root.glob("**/*")):
        rel = path.relative_to(root)
        if rel.parts[0] in {".git", ".venv", "openapi", "requirements"} or not path.is_file():
            continue
        if rel.parts[0] not in {"app", "tests", "bench", "docs", "migrations"} and rel.name != "README.md":
            continue
        if rel.parts[0] == "migrations" and path.suffix == ".py":
            continue  # history: migrations stay as they were written
        if "templates" in rel.parts and path.suffix in {".html", ".txt", ".subject"}:
            text = path.read_text()
            new = template(text)
            if new != text:
                changed.append(str(rel))
                if not check:
                    path.write_text(new)
            continue
        if path.suffix not in {".py", ".md"}:
            continue
        text = path.read_text()
        if path.suffix == ".py":
            new = python(text, str(rel))
        elif path.suffix in {".md", ".html", ".txt"}:
            new = prose(text) if path.suffix == ".md" else text
        else:
            continue
        if new != text:
            changed.append(str(rel))
            if not check:
                path.write_text(new)
    print("\n".join(changed))
    if check and changed:
        sys.exit(1)


if __name__ == "__main__":
    main()
