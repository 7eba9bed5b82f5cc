"""Demo identity: the demo's tables at this checkout against those of a reference commit.

Usage::

    python benchmarks/diff_demo.py [--ref REV] [--fresh] [--allow-new-columns] [--keep DIR]
                                   [--source DIR]

Runs ``synktrack demo`` twice, in fresh processes: once from this checkout, once from a copy of
commit ``REV`` (default ``9962ee8``, the last commit that changed what the demo measures)
extracted with ``git archive`` into a temporary folder and put first on ``PYTHONPATH``. It then
compares ``frames.csv``, ``epochs.csv`` and ``session.csv`` cell by cell, as written (so to the
last printed digit), leaving out only the session columns that name the run rather than measure
it (:data:`PROVENANCE`: the session id, its date and time, the clip's path). Nothing is stored
in the repository; the reference outputs are cached per commit in the temporary folder
(``--fresh`` recomputes them).

Exit 0 when the tables are identical, 1 with the differences listed when they are not. A column
that the reference has and this checkout lacks is a difference; a new column is one too unless
``--allow-new-columns`` (for a tree that has since added an index). The model is the one the
CLI resolves (``SYNKTRACK_MODEL``, else ``../shared/models/face_landmarker.task``, else the
cache). About a minute (two demos of about 25 s each).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from _common import ROOT, model_path

# The last commit that changed what the demo measures (issue 10: the corner tracking window). A
# deliberate change of measurement moves this to the commit that made it.
DEFAULT_REF = "9962ee8"
TABLES = ("frames.csv", "epochs.csv", "session.csv")
PROVENANCE = frozenset({"session_id", "started_at", "session_date", "source"})


def resolve_commit(rev: str, repo: Path = ROOT) -> str:
    """The full hash of ``rev`` in ``repo`` (raises ``ValueError`` if git does not know it)."""
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ValueError(f"git does not know {rev!r}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def extract_commit(commit: str, dest: Path, repo: Path = ROOT) -> Path:
    """Write the tree of ``commit`` into ``dest`` (``git archive``; the repository is untouched)."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest.with_suffix(".tar")
    with open(archive, "wb") as fh:
        subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", commit],
                       stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    archive.unlink()
    return dest


def demo_env(source_root: Path, cache: Path) -> dict[str, str]:
    """Environment for a demo run whose ``synktrack`` is the one in ``source_root``."""
    env = {**os.environ, "SYNKTRACK_CACHE_DIR": str(cache), "MPLBACKEND": "Agg",
           "NO_COLOR": "1", "PYTHONPATH": os.pathsep.join(
               [str(source_root), *filter(None, [os.environ.get("PYTHONPATH")])])}
    if not env.get("SYNKTRACK_MODEL"):
        env["SYNKTRACK_MODEL"] = str(model_path())
    return env


def run_demo(source_root: Path, out: Path, cache: Path) -> Path:
    """Run ``synktrack demo --out out`` with the package from ``source_root``; return ``out``.

    Raises ``RuntimeError`` (with the demo's stderr) if the demo fails or imports the package
    from anywhere else.
    """
    here = str(source_root.resolve())
    code = ("import sys, synktrack; from pathlib import Path; "
            f"assert Path(synktrack.__file__).resolve().is_relative_to({here!r}), "
            "synktrack.__file__; from synktrack.cli import main; "
            "sys.argv = ['synktrack', *sys.argv[1:]]; main()")
    proc = subprocess.run([sys.executable, "-c", code, "demo", "--out", str(out)],
                          cwd=source_root, env=demo_env(source_root, cache),
                          capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"demo from {source_root} failed (exit {proc.returncode}):\n"
                           f"{proc.stderr[-3000:]}")
    return out


def read_table(path: Path) -> tuple[list[str], list[list[str]]]:
    """A CSV's header and rows, every cell as the text written."""
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return (rows[0], rows[1:]) if rows else ([], [])


def compare_tables(reference: Path, current: Path, name: str, ignore: frozenset[str] = frozenset(),
                   allow_new_columns: bool = False, most: int = 10) -> list[str]:
    """Differences between two CSV files of the same name, cell by cell (empty if identical).

    Parameters
    ----------
    reference, current
        The folders holding ``name``.
    ignore
        Columns left out on both sides.
    allow_new_columns
        Whether columns only ``current`` has are allowed (else each is a difference).
    most
        How many differing cells to list at the most (the count is always given).
    """
    if not (reference / name).is_file() or not (current / name).is_file():
        missing = [str(d / name) for d in (reference, current) if not (d / name).is_file()]
        return [f"{name}: missing {', '.join(missing)}"]
    ref_cols, ref_rows = read_table(reference / name)
    cur_cols, cur_rows = read_table(current / name)
    out = [f"{name}: column {c!r} is gone" for c in ref_cols
           if c not in cur_cols and c not in ignore]
    if not allow_new_columns:
        out += [f"{name}: new column {c!r}" for c in cur_cols
                if c not in ref_cols and c not in ignore]
    if len(ref_rows) != len(cur_rows):
        out.append(f"{name}: {len(cur_rows)} rows, the reference has {len(ref_rows)}")
    shared = [(ref_cols.index(c), cur_cols.index(c), c) for c in ref_cols
              if c in cur_cols and c not in ignore]
    diffs = []
    for i, (a, b) in enumerate(zip(ref_rows, cur_rows, strict=False)):
        for ia, ib, col in shared:
            va, vb = a[ia] if ia < len(a) else "", b[ib] if ib < len(b) else ""
            if va != vb:
                diffs.append(f"{name}: row {i} {col}: reference {va!r}, now {vb!r}")
    if diffs:
        out.append(f"{name}: {len(diffs)} cells differ")
        out += diffs[:most]
    return out


def compare_demo(reference: Path, current: Path, allow_new_columns: bool = False) -> list[str]:
    """All differences between two demo output folders (:data:`TABLES`; provenance aside)."""
    out: list[str] = []
    for name in TABLES:
        ignore = PROVENANCE if name == "session.csv" else frozenset()
        out += compare_tables(reference, current, name, ignore, allow_new_columns)
    return out


def reference_outputs(rev: str, work: Path, fresh: bool = False) -> Path:
    """The demo outputs of commit ``rev``, computed once per commit under ``work``."""
    commit = resolve_commit(rev)
    base = work / commit
    done = base / "out"
    if fresh and base.exists():
        shutil.rmtree(base)
    if not all((done / t).is_file() for t in TABLES):
        shutil.rmtree(base, ignore_errors=True)
        src = extract_commit(commit, base / "src")
        run_demo(src, base / "tmp-out", base / "cache")
        (base / "tmp-out").rename(done)
        shutil.rmtree(src)
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=DEFAULT_REF, help="reference commit (default %(default)s)")
    ap.add_argument("--fresh", action="store_true", help="recompute the reference outputs")
    ap.add_argument("--allow-new-columns", action="store_true",
                    help="columns only this checkout writes are not differences")
    ap.add_argument("--keep", type=Path, help="write this checkout's demo outputs here")
    ap.add_argument("--source", type=Path, default=ROOT,
                    help="run the current demo from the package in this folder (default: this "
                         "checkout)")
    args = ap.parse_args(argv)
    work = Path(tempfile.gettempdir()) / "synktrack-diff-demo"
    ref_out = reference_outputs(args.ref, work, args.fresh)
    with tempfile.TemporaryDirectory(prefix="synktrack-diff-demo-") as tmp:
        cur_out = args.keep or Path(tmp) / "out"
        run_demo(args.source, cur_out, Path(tmp) / "cache")
        diffs = compare_demo(ref_out, cur_out, args.allow_new_columns)
    head = f"demo identity against {args.ref} ({resolve_commit(args.ref)[:10]})"
    if diffs:
        print(f"{head}: DIFFERENT", *diffs, sep="\n")
        return 1
    rows = {t: len(read_table(ref_out / t)[1]) for t in TABLES}
    print(f"{head}: identical ({', '.join(f'{t} {n} rows' for t, n in rows.items())}; "
          f"provenance columns left out: {', '.join(sorted(PROVENANCE))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
