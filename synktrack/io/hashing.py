"""The checksum of an input file, for provenance records."""

from __future__ import annotations

import os

from synktrack.errors import InputError
from synktrack.provenance import sha256_file


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in chunks (for provenance records).

    Parameters
    ----------
    path : str or os.PathLike
        A regular file.

    Returns
    -------
    str
        64 lower-case hexadecimal digits.

    Raises
    ------
    InputError
        If the file cannot be read.
    """
    try:
        return sha256_file(path)
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be read to compute its checksum ({exc.strerror})"
        ) from exc

