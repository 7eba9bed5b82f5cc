"""The layout numbers of issue 13, for a checkout or any commit (before/after a refactor).

Usage::

    python benchmarks/layout_numbers.py [--rev REV]

Prints: modules at the top level of ``synktrack/`` (``__init__`` aside), the largest module and
its lines, the places defining ``SIDES`` (an assignment to a name ending in ``SIDES`` whose value
holds ``"left"``), the lines where the healthy norms 21.6 / 13.4 are written as numbers, the
places that build a session row (a dict literal with a computed ``"session_id"`` and a
``"schema_version"`` or ``"source_sha256"`` key; ``report/fake.py`` builds made-up ones), the
package's SHA-256 file helpers, affine-apply helpers (module-level ``_apply`` /
``apply_affine``) and one-line message helpers, and the files of the tests and benchmarks that
look up the model in ``../shared``. With ``--rev`` the numbers
are those of that commit (read with ``git show``; nothing is checked out).
Duplicated blocks are counted by the ``duplicates`` tool where it is installed (not by this).
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def files(rev: str | None) -> Iterator[tuple[str, str]]:
    """(path, text) of every tracked ``.py`` file at ``rev`` (None: the working tree)."""
    if rev is None:
        for p in sorted(ROOT.glob("**/*.py")):
            rel = p.relative_to(ROOT).as_posix()
            if not rel.startswith((".venv/", "build/")) and "/." not in f"/{rel}":
                yield rel, p.read_text(encoding="utf-8")
        return
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev],
                           capture_output=True, text=True, check=True).stdout.split()
    for name in names:
        if name.endswith(".py"):
            yield name, subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{name}"],
                                       capture_output=True, text=True, check=True).stdout


def sides_definitions(path: str, tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            if any(n.endswith("SIDES") and n != "EVENT_SIDES" for n in names) and \
                    node.value is not None and "'left'" in ast.dump(node.value).replace('"', "'"):
                out.append(f"{path}:{node.lineno}")
    return out


def session_row_builders(path: str, tree: ast.AST) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            items = {k.value: v for k, v in zip(node.keys, node.values, strict=True)
                     if isinstance(k, ast.Constant)}
            described = isinstance(items.get("session_id"), ast.Constant)  # a column's meaning
            if "session_id" in items and items.keys() & {"schema_version", "source_sha256"} \
                    and not described:
                out.append(f"{path}:{node.lineno}")
    return out


def functions_named(path: str, tree: ast.Module, pattern: re.Pattern[str]) -> list[str]:
    """Module-level functions of the package whose name matches ``pattern``."""
    return [f"{path}:{n.lineno} {n.name}" for n in tree.body
            if isinstance(n, ast.FunctionDef) and pattern.fullmatch(n.name)
            and path.startswith("synktrack/")]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", help="a commit (default: the working tree)")
    args = ap.parse_args(argv)
    top, sizes = [], {}
    sides, norms, rows, sha, affine, one_line, lookups = [], [], [], [], [], [], []
    for path, text in files(args.rev):
        parts = path.split("/")
        if parts[0] == "synktrack":
            sizes[path] = text.count("\n")
            if len(parts) == 2 and parts[1] != "__init__.py":
                top.append(parts[1])
        if parts[0] not in ("synktrack", "tests", "benchmarks"):
            continue
        tree = ast.parse(text)
        sides += sides_definitions(path, tree)
        rows += session_row_builders(path, tree)
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and isinstance(n.value, float) \
                    and n.value in (21.6, 13.4) and parts[0] == "synktrack":
                norms.append(f"{path}:{n.lineno}")
        sha += [f"{path}:{n.lineno} {n.name}" for n in tree.body
                if isinstance(n, ast.FunctionDef) and "sha256" in n.name
                and "hashlib" in ast.unparse(n) and parts[0] == "synktrack"]
        affine += functions_named(path, tree, re.compile(r"_?apply(_affine)?"))
        one_line += functions_named(path, tree, re.compile(r"_?one_line"))
        if parts[0] != "synktrack" and re.search(
                r"""["']models["']\s*\)?\s*/\s*["']face_landmarker\.task""", text):
            lookups.append(path)
    largest = max(sizes, key=lambda p: sizes[p])
    report = [
        ("top-level modules in synktrack/", str(len(top)), ", ".join(sorted(top))),
        ("largest module", f"{sizes[largest]} lines", largest),
        ("places defining SIDES", str(len(sides)), ", ".join(sides)),
        ("norms 21.6 / 13.4 written as numbers", str(len(set(norms))),
         ", ".join(sorted(set(norms)))),
        ("session-row builders", str(len(rows)), ", ".join(rows)),
        ("SHA-256 file helpers", str(len(sha)), ", ".join(sha)),
        ("affine-apply helpers", str(len(affine)), ", ".join(affine)),
        ("one-line message helpers", str(len(one_line)), ", ".join(one_line)),
        ("files looking up ../shared's model (tests, benchmarks)", str(len(lookups)),
         ", ".join(lookups)),
    ]
    print(f"layout numbers of {args.rev or 'the working tree'}")
    for name, value, where in report:
        print(f"- {name}: {value}" + (f"  ({where})" if where else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
