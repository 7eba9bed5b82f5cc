"""Errors that reach the user as one line and a non-zero exit code."""

from __future__ import annotations


def one_line(text: object) -> str:
    """``text`` as one line: runs of white space (newlines too) folded to one space.

    For messages that quote something multi-line (an exception, a file's text); ``None`` and
    ``""`` give ``""``.
    """
    return " ".join(str(text if text is not None else "").split())


class SynktrackError(Exception):
    """Base class: ``str(err)`` is the one-line message shown to the user.

    ``exit_code`` follows the CLI convention: 2 for bad input or usage,
    1 for a run that finished but found a problem (e.g. no face).
    """

    exit_code = 1


class InputError(SynktrackError):
    """The input file, camera or option cannot be used."""

    exit_code = 2


class ModelError(SynktrackError):
    """The landmark model could not be found or verified."""

    exit_code = 2


class NoFaceError(SynktrackError):
    """Outputs were written, but no face was found in any frame."""

    exit_code = 3


class OutputError(SynktrackError):
    """The output location cannot be written (read-only, disk full...).

    ``path`` and ``errno`` say which file the user asked for and why, when known.
    """

    exit_code = 4
    path: object = None
    errno: int | None = None


class AnnotationError(SynktrackError):
    """The annotated video could not be made; every other output was written.

    The source is gone, unreadable or changed since it was analysed, or PyAV has
    no H.264 encoder. ``session.json`` says why under ``annotated_video``.
    """

    exit_code = 5
