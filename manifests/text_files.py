"""A user's list file (queries, lexicons, opt-out lists, takedown files) read whole, local or on object
storage, with one-line errors that name the file: `<what> not found: <path>`, `<what> is not UTF-8:
<path>`, `cannot read <what> <path>: <reason>`."""

from __future__ import annotations

from manifests.errors import UserError
from manifests.storage import DataPath


def read_text_file(path: DataPath, what: str) -> tuple[str, bytes]:
    """The file's text (UTF-8; a leading BOM dropped) and its bytes."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise UserError(f"{what} not found: {path}") from None
    except Exception as exc:  # OSError locally; on object storage also botocore's own (endpoint, credentials)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot read {what} {path}: {reason}") from None
    try:
        return raw.decode("utf-8-sig"), raw
    except UnicodeDecodeError:
        raise UserError(f"{what} is not UTF-8: {path}") from None
