"""Cached downloads: fetch a file once from the first mirror that has it, verified by md5."""

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from nnapps.data.dataset import DatasetUnavailable, ProgressFn

CHUNK_BYTES = 1 << 16


class _ChecksumMismatch(Exception):
    """A mirror served the file, but not the bytes we expect; another mirror may do better."""


def file_md5(path: Path) -> str:
    """The md5 hex digest of a file, read in chunks so large files need little memory."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url_candidates: list[str] | str, dest: Path, md5: str | None, progress: ProgressFn | None = None,
          timeout: float = 20, label: str | None = None) -> Path:
    """Return dest, downloading it from the first mirror that serves bytes with this md5.

    A cached dest with the right md5 is returned without touching the network. md5=None is for
    files whose bytes are not fixed upstream (archives a forge builds on request): the caller
    checks their content instead, and any cached copy is taken. Downloads go to a
    temporary file beside dest and replace it atomically, so dest is never partial. label names
    the file in messages (e.g. "MNIST's train-images-idx3-ubyte.gz"); it defaults to dest's name.
    Raises DatasetUnavailable, with a message for a person, when no mirror gives the file.
    """
    urls = [url_candidates] if isinstance(url_candidates, str) else list(url_candidates)
    dest = Path(dest)
    label = label or dest.name
    md5 = md5.lower() if md5 else None
    report = progress or (lambda fraction, message: None)
    if dest.is_file() and (md5 is None or file_md5(dest) == md5):
        report(1.0, f"{label}: cached")
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures: list[tuple[str, BaseException]] = []
    for url in urls:
        try:
            _download_verified(url, dest, md5, report, timeout, label)
            return dest
        except (_ChecksumMismatch, OSError, http.client.HTTPException) as err:
            failures.append((url, err))
    raise DatasetUnavailable(_failure_message(label, dest, failures))


def _download_verified(url: str, dest: Path, md5: str | None, report: ProgressFn, timeout: float,
                       label: str) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _stream(url, out, report, timeout, label, dest)
        if md5 is not None and actual != md5:
            raise _ChecksumMismatch(
                f"{label} from {url} has md5 {actual}, but {md5} was expected; the file may be "
                "corrupt or changed upstream, so nothing was saved")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _stream(url: str, out, report: ProgressFn, timeout: float, label: str, dest: Path) -> str:
    """Copy url's bytes into out, reporting progress; return their md5."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = _content_length(response)
        n_bytes = 0
        report(0.0, f"{label}: downloading")
        while chunk := response.read(CHUNK_BYTES):
            try:
                out.write(chunk)
            except OSError as err:
                # A full or read-only disk is not a network problem; say so rather than "offline".
                raise DatasetUnavailable(f"Could not save {label} into {dest.parent}: "
                                         f"{err.strerror or err}") from err
            digest.update(chunk)
            n_bytes += len(chunk)
            report(_fraction(n_bytes, total), f"{label}: {_megabytes(n_bytes, total)}")
    report(1.0, f"{label}: downloaded")
    return digest.hexdigest()


def _content_length(response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _fraction(n_bytes: int, total: int | None) -> float:
    # Without a Content-Length there is no fraction to show; stay at 0 until done.
    return min(n_bytes / total, 1.0) if total else 0.0


def _megabytes(n_bytes: int, total: int | None) -> str:
    done = f"{n_bytes / 1e6:.1f}"
    return f"{done} of {total / 1e6:.1f} MB" if total else f"{done} MB"


def _failure_message(label: str, dest: Path, failures: list[tuple[str, BaseException]]) -> str:
    mismatches = [err for _, err in failures if isinstance(err, _ChecksumMismatch)]
    if mismatches:
        return f"Could not download {label}: " + "; ".join(str(err) for err in mismatches) + "."
    reasons = "; ".join(f"{_where(url)}: {failure_reason(err)}" for url, err in failures) or "no mirror given"
    http_errors = any(isinstance(err, urllib.error.HTTPError) for _, err in failures)
    cause = ("the download servers did not provide it" if http_errors
             else "this machine seems to be offline")
    return (f"Could not download {label}: {cause} ({reasons}). Copy the file into {dest.parent} "
            "or connect to the internet; nnapps caches it there once downloaded.")


def _where(url: str) -> str:
    return urlparse(url).netloc or url


def failure_reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        reason = err.reason
        return getattr(reason, "strerror", None) or str(reason)
    if isinstance(err, TimeoutError):
        return "timed out"
    return getattr(err, "strerror", None) or str(err) or type(err).__name__
