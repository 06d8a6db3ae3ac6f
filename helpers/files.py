"""Where the course keeps its files, and writing them so that a reader never sees half of one.

``course_folder`` places data and models; ``write_atomic`` is the repository's one atomic write.
Importing this module does not load TensorFlow, so scripts can use it cheaply.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

STALE_SECONDS = 3600  # a temp file this old belongs to a writer that was killed
REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


def running_from_clone() -> bool:
    """True when ``helpers`` is imported from a clone of the course (plain or editable install)."""
    return (REPOSITORY_ROOT / "pyproject.toml").is_file() and (REPOSITORY_ROOT / "notebooks").is_dir()


def course_folder(name: str, variable: str) -> Path:
    """The folder for ``name`` ("data", "models"): ``$VARIABLE`` if set, else ``NAME/`` in the clone.

    An installed course (a wheel on Colab, Kaggle or a hub) has no clone: then it is ``NAME/`` in
    the working folder, beside the notebooks, and never inside the installed package.
    """
    if os.environ.get(variable):
        return Path(os.environ[variable]).expanduser()
    return (REPOSITORY_ROOT if running_from_clone() else Path.cwd()) / name


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside ``path``; when the block ends without error, rename it onto ``path``.

    For writers that want a file name (``model.save(tmp)``). The temp file is hidden
    (``.NAME.part-xxxx`` plus NAME's extension, which Keras insists on) and removed on any
    error; one left by a killed writer is removed later (see :func:`remove_stale_parts`). The
    result keeps an existing file's permissions, else gets the usual ones (readable by a whole
    class where the umask allows).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path.parent, path.name)
    if path.is_file():
        mode = path.stat().st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.part-", suffix=path.suffix)
    os.close(fd)  # closed before anyone writes or renames it: Windows renames no open file
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(mode)
        os.replace(tmp, path)  # not os.rename: on Windows only os.replace overwrites an existing file
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def remove_stale_parts(folder: str | os.PathLike, name: str = "*") -> None:
    """Remove the temp files of writes to ``folder/name`` that were killed (older than ``STALE_SECONDS``)."""
    now = time.time()
    for old in Path(folder).glob(f".{name}.part-*"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > STALE_SECONDS:
                old.unlink()


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (text is written as UTF-8) to ``path`` via a synced temp file and a rename."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return Path(path)
