"""Text files (HTML reports) written atomically."""

from __future__ import annotations

from pathlib import Path

from predscore.io.parquet import atomic_path

__all__ = ["write_text"]


def write_text(text: str, path: Path) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (temporary file, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
