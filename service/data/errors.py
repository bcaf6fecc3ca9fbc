"""The one error wrong data raises: the service refuses to start on it, naming the file and the field."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A data file that is wrong: the service refuses to start on it. Says which file and which field, and,
    for a value checked against a label, a table or a hand-worked plan, the source it disagrees with."""

    def __init__(self, path: Path | str, field: str, message: str, *, source: str = ""):
        self.path, self.field, self.source = str(path), field, source
        super().__init__(f"{path}: {field}: {message}" if field else f"{path}: {message}")
