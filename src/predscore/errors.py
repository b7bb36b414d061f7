"""Exception hierarchy of predscore.

Every error raised on purpose by the package derives from :class:`PredscoreError`, so
the command line can print a one-line reason and exit non-zero instead of a traceback.
Messages say what failed, for which file/table/column, what was expected and what was
found.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataValidationError",
    "InsufficientHistoryError",
    "LeakageError",
    "ModelError",
    "PredscoreError",
    "SchemaError",
    "StoreError",
]


class PredscoreError(Exception):
    """Base class of every error predscore raises on purpose."""


class ConfigError(PredscoreError):
    """A configuration file is missing, unreadable or invalid (the message names the key)."""


class DataValidationError(PredscoreError):
    """Input data cannot be used as a whole (a structural problem, not a bad row)."""


class SchemaError(DataValidationError):
    """A table is missing, or a column is missing or of an unusable type.

    Parameters
    ----------
    path : str
        File (or folder) the table was read from.
    column : str or None
        Offending column, if the problem is a column.
    expected : str
        What the canonical schema expects.
    found : str
        What was found instead.
    """

    def __init__(
        self, path: str, column: str | None, expected: str, found: str
    ) -> None:
        self.path = path
        self.column = column
        self.expected = expected
        self.found = found
        where = f"{path}: column '{column}'" if column else path
        super().__init__(f"{where}: expected {expected}, found {found}")


class LeakageError(PredscoreError):
    """A computation would use information from after its as-of time."""


class ModelError(PredscoreError):
    """A model cannot be fitted, loaded or applied (not fitted, bad bundle, bad URI)."""


class InsufficientHistoryError(ModelError):
    """Too few closed leads or wins to train: predscore keeps scoring with the rules."""


class OutputError(PredscoreError):
    """An output that cannot be written (a full disk, a folder that cannot be
    created or written); nothing is published half-written."""


class StoreError(PredscoreError):
    """A write the store refuses (unknown user, answer outside its vocabulary...)."""
