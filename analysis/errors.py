"""Exceptions shared by the analysis package, and their one-sentence form for users."""
from __future__ import annotations


class SSBError(Exception):
    """Base class of the errors that carry a message meant for the user."""


class AnalysisError(SSBError, ValueError):
    """Input data that an analysis cannot work on (message says which input and why)."""


def format_user_error(exc: BaseException) -> str | None:
    """Return the user-facing sentence of ``exc``, or None if it is an unexpected bug.

    Parameters
    ----------
    exc : BaseException
        The exception raised by a command.

    Returns
    -------
    str or None
        ``str(exc)`` for the project's own errors (and for missing input files), None otherwise
        so that the caller re-raises genuine bugs with their traceback.
    """
    if isinstance(exc, SSBError):
        return str(exc)
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return f"{exc.filename}: {exc.strerror}"
    return None
