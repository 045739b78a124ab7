"""What counts as the user's problem when a command writes its output files."""

from __future__ import annotations

OUTPUT_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
"""Errors from writing outputs that are the user's to fix (bad path, no permission); a
command reports them as a UserError naming the file, other OSErrors keep their traceback."""
