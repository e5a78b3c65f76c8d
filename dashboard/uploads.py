"""Safe uploads into a project store: size limits, content sniffing, clean names, quotas.

Every uploaded file goes through :func:`save_upload` (or, for large cycler files arriving in
pieces, :class:`ChunkedUpload`):

1. the size is checked while the bytes arrive (over ``max_bytes`` -> refused before anything is
   kept), empty files are refused;
2. the file name is reduced to a safe base name (:func:`sanitize_filename`: no directories, no
   ``..``, no NUL or control characters, at most ``max_name`` characters, extension kept);
3. the content is sniffed (:func:`sniff_content`): known binary formats by their magic bytes,
   text by its encoding; anything else is refused before a reader sees it;
4. the user's quota (bytes of originals kept for that user in the store) is checked;
5. the original is written to ``STORE/.uploads/<user>/<name>`` through a temporary file and an
   atomic hard link, so a name already used is never overwritten (a different file gets
   ``name-2.ext``; the identical file is recognised by its SHA-256);
6. the store imports it (``analysis.store.open(STORE).ingest(path, metadata=..., user=...)``),
   which records the user in the catalog. If the import fails, the original is removed again and
   the reader's one-sentence reason is raised as :class:`UploadError`; the store is unchanged.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from analysis.errors import SSBError

UPLOAD_DIR = ".uploads"
MB = 1024**2


class UploadError(SSBError, ValueError):
    """An upload was refused; the message names the file and the reason."""


@dataclass(frozen=True)
class UploadLimits:
    """Limits applied to uploads.

    Attributes
    ----------
    max_bytes : int
        Largest accepted file (bytes).
    quota_bytes : int
        Total bytes of originals a user may keep in one store.
    max_name : int
        Longest file name kept (characters); longer names are shortened, extension kept.
    """

    max_bytes: int = 500 * MB
    quota_bytes: int = 5000 * MB
    max_name: int = 128

    @classmethod
    def from_env(cls) -> "UploadLimits":
        """Limits from ``SSB_MAX_UPLOAD_MB`` and ``SSB_QUOTA_MB`` (set by ``ssb-explorer serve``)."""
        mx = float(os.environ.get("SSB_MAX_UPLOAD_MB", 500))
        q = float(os.environ.get("SSB_QUOTA_MB", 5000))
        return cls(max_bytes=int(mx * MB), quota_bytes=int(q * MB))


@dataclass
class UploadResult:
    """What an accepted upload produced.

    Attributes
    ----------
    filename : str
        The sanitised name the original was stored under.
    path : Path
        Where the original is kept.
    size : int
        Bytes.
    sha256 : str
        Hex digest of the content.
    content : str
        What :func:`sniff_content` recognised.
    duplicate : bool
        True when the same bytes had already been uploaded by this user (nothing new stored).
    ingested : Any
        What the store's ``ingest`` returned (dataset id(s) or record).
    """

    filename: str
    path: Path
    size: int
    sha256: str
    content: str
    duplicate: bool = False
    ingested: Any = None
    warnings: list[str] = field(default_factory=list)


_SAFE = re.compile(r"[^A-Za-z0-9._+()-]+")


def sanitize_filename(name: str | bytes, max_len: int = 128) -> str:
    """Return a safe base name for an uploaded file.

    Directories (``/``, ``\\``), drive letters, ``..`` and leading dots are dropped; characters
    other than letters, digits and ``. _ + ( ) -`` become ``_``; a name longer than ``max_len``
    characters is shortened keeping its extension.

    Raises
    ------
    UploadError
        For NUL bytes or control characters (a hostile name), or when nothing usable remains.
    """
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    shown = repr(name[:80])
    if "\x00" in name:
        raise UploadError(f"file name {shown} contains a NUL byte")
    if any(unicodedata.category(c) == "Cc" for c in name):
        raise UploadError(f"file name {shown} contains control characters")
    base = re.split(r"[/\\]", name)[-1]
    base = re.sub(r"^[A-Za-z]:", "", base)
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _SAFE.sub("_", base).strip("._ ")
    if not base or set(base) <= {"."}:
        raise UploadError(f"file name {shown} has no usable characters")
    if len(base) > max_len:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 16 and stem:
            base = stem[: max_len - len(ext) - 1] + "." + ext
        else:
            base = base[:max_len]
    return base


#: magic bytes of the binary formats the readers know
MAGIC = (
    (b"BIO-LOGIC MODULAR FILE", "biologic-mpr"),
    (b"NEWARE", "neware-nda"),
    (b"PK\x03\x04", "zip (neware-ndax / xlsx)"),
    (b"\x89HDF\r\n\x1a\n", "hdf5/netcdf4"),
    (b"CDF\x01", "netcdf3"),
    (b"CDF\x02", "netcdf3"),
    (b"\xd0\xcf\x11\xe0", "ole2 (xls / Arbin res)"),
    (b"Standard Jet DB", "access (Arbin res)"),
    (b"SQLite format 3\x00", "sqlite"),
)


def sniff_content(head: bytes, filename: str = "upload") -> str:
    """Recognise the content of a file from its first bytes (up to 64 KiB are used).

    Returns
    -------
    str
        A label: one of :data:`MAGIC`'s formats, ``"text"`` or ``"text (utf-16)"``.

    Raises
    ------
    UploadError
        For empty content or binary content of no known instrument format.
    """
    if not head:
        raise UploadError(f"{filename}: the file is empty")
    for magic, label in MAGIC:
        if head.startswith(magic):
            return label
    if head[:4] == b"\x00\x00\x00\x00" and b"NEWARE" in head[:1024]:
        return "neware-nda"
    sample = head[: 64 * 1024]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            sample[2:-2 if len(sample) % 2 else None].decode("utf-16-le" if sample[0] == 0xFF else "utf-16-be")
            return "text (utf-16)"
        except UnicodeDecodeError:
            pass
    if b"\x00" not in sample:
        try:
            text = sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 4:  # a multi-byte character cut by the 64 KiB window
                text = sample[: exc.start].decode("utf-8")
            else:
                text = sample.decode("latin-1")
        ctrl = sum(1 for c in text if ord(c) < 32 and c not in "\t\r\n\f\v")
        if ctrl <= max(2, len(text) // 200):
            return "text"
    raise UploadError(f"{filename}: unknown content (binary data of no supported instrument format)")


def _user_dir(store_dir: Path, user: str | None) -> Path:
    from dashboard.access import personal_store_name

    return store_dir / UPLOAD_DIR / personal_store_name(user or "local")


def usage_bytes(store_dir: str | os.PathLike, user: str | None) -> int:
    """Bytes of originals kept for ``user`` in the store (what the quota counts)."""
    d = _user_dir(Path(store_dir), user)
    if not d.is_dir():
        return 0
    return sum(p.stat().st_size for p in d.iterdir() if p.is_file() and not p.name.startswith("."))


def _default_ingest(store_dir: Path, path: Path, metadata: dict | None, user: str | None):
    from analysis import store as _store

    return _store.open(store_dir).ingest(path, metadata=metadata or {}, user=user, name=path.name)


class ChunkedUpload:
    """An upload arriving in pieces (large cycler files): limits are checked as bytes arrive.

    Parameters
    ----------
    store_dir : path
        The project store.
    filename : str
        The name the client gave (sanitised here).
    user : str or None
        The uploading user (recorded in the catalog; None on a single-user server).
    limits : UploadLimits, optional
        Default :meth:`UploadLimits.from_env`.

    Examples
    --------
    >>> up = ChunkedUpload(store, "cell1.ndax", "alice")   # doctest: +SKIP
    >>> for chunk in chunks: up.write(chunk)                # doctest: +SKIP
    >>> result = up.finish(metadata={"active_mass_mg": 12.0})  # doctest: +SKIP
    """

    def __init__(self, store_dir, filename: str | bytes, user: str | None,
                 limits: UploadLimits | None = None):
        self.store_dir = Path(store_dir).expanduser().resolve()
        self.limits = limits or UploadLimits.from_env()
        self.user = user
        self.filename = sanitize_filename(filename, self.limits.max_name)
        self._dir = _user_dir(self.store_dir, user)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._used = usage_bytes(self.store_dir, user)
        self._tmp = self._dir / f".part-{secrets.token_hex(8)}"
        self._fh = open(self._tmp, "xb")
        self._sha = hashlib.sha256()
        self._head = b""
        self.size = 0

    def _fail(self, reason: str):
        self.abort()
        raise UploadError(f"{self.filename}: {reason}")

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; refuses (and discards everything) once a limit is exceeded."""
        if self._fh is None:
            raise UploadError(f"{self.filename}: upload already finished or aborted")
        self.size += len(chunk)
        if self.size > self.limits.max_bytes:
            self._fail(f"too large: more than the {self.limits.max_bytes / MB:g} MB upload limit")
        if self._used + self.size > self.limits.quota_bytes:
            self._fail(f"quota exceeded: {self._used / MB:.1f} MB already used of "
                       f"{self.limits.quota_bytes / MB:g} MB")
        if len(self._head) < 64 * 1024:
            self._head += chunk[: 64 * 1024 - len(self._head)]
            if len(self._head) >= 64 * 1024:  # refuse unknown content early, not after 500 MB
                try:
                    sniff_content(self._head, self.filename)
                except UploadError:
                    self.abort()
                    raise
        self._sha.update(chunk)
        self._fh.write(chunk)

    def abort(self) -> None:
        """Discard the bytes received so far."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        try:
            self._tmp.unlink()
        except FileNotFoundError:
            pass

    def _final_name(self, digest: str) -> tuple[Path, bool]:
        """Pick a name not used by another file; (path, True) if the same bytes are already kept."""
        stem, dot, ext = self.filename.rpartition(".")
        if not dot:
            stem, ext = self.filename, ""
        for i in range(1, 10_000):
            name = self.filename if i == 1 else f"{stem}-{i}{'.' + ext if ext else ''}"
            p = self._dir / name
            if not p.exists():
                return p, False
            if p.stat().st_size == self.size and _sha256_file(p) == digest:
                return p, True
        raise UploadError(f"{self.filename}: too many files with this name")  # pragma: no cover

    def finish(self, metadata: dict | None = None,
               ingest: Callable[[Path, Path, dict | None, str | None], Any] | None = None) -> UploadResult:
        """Check, keep and import the file; return an :class:`UploadResult`.

        ``ingest(store_dir, path, metadata, user)`` defaults to the project store's ``ingest``.

        Raises
        ------
        UploadError
            Empty or unknown content, or the import failed (the reader's reason; nothing kept).
        """
        if self._fh is None:
            raise UploadError(f"{self.filename}: upload already finished or aborted")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        try:
            content = sniff_content(self._head, self.filename)
        except UploadError:
            self.abort()
            raise
        digest = self._sha.hexdigest()
        while True:
            final, dup = self._final_name(digest)
            if dup:
                self._tmp.unlink()
                break
            try:
                os.link(self._tmp, final)  # atomic and never overwrites
            except FileExistsError:
                continue
            self._tmp.unlink()
            break
        result = UploadResult(self.filename if final.name == self.filename else final.name,
                              final, self.size, digest, content, duplicate=dup)
        try:
            result.ingested = (ingest or _default_ingest)(self.store_dir, final, metadata, self.user)
        except SSBError as exc:
            if not dup:
                final.unlink(missing_ok=True)
            raise UploadError(f"{self.filename}: not imported: {exc}") from exc
        except Exception:
            if not dup:
                final.unlink(missing_ok=True)
            raise
        return result


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_upload(store_dir, filename: str | bytes, data: bytes, user: str | None = None,
                limits: UploadLimits | None = None, metadata: dict | None = None,
                ingest: Callable | None = None) -> UploadResult:
    """Check and import one uploaded file into the store ``store_dir``.

    Parameters
    ----------
    store_dir : path
        The project store (a folder; :func:`dashboard.access.session_store` in a page).
    filename : str or bytes
        The name the browser sent (never trusted: sanitised).
    data : bytes
        The file content.
    user : str, optional
        The uploading user (default: ``pn.state.user`` when called in a served session), recorded
        in the catalog and charged for the quota.
    limits : UploadLimits, optional
        Default from the server options (``--max-upload-mb``, ``--quota-mb``).
    metadata : dict, optional
        Cell/sample metadata passed to the store's ``ingest``.
    ingest : callable, optional
        ``ingest(store_dir, path, metadata, user)``; default ``analysis.store.open(...).ingest``.

    Returns
    -------
    UploadResult

    Raises
    ------
    UploadError
        Too large, over quota, hostile name, unknown content, or the import failed.
    """
    if user is None:
        from dashboard.access import session_user

        try:
            user = session_user()
        except Exception:  # pragma: no cover - outside a session
            user = None
    limits = limits or UploadLimits.from_env()
    if len(data) > limits.max_bytes:
        raise UploadError(f"{sanitize_filename(filename, limits.max_name)}: too large: "
                          f"{len(data) / MB:.1f} MB, the upload limit is {limits.max_bytes / MB:g} MB")
    up = ChunkedUpload(store_dir, filename, user, limits)
    step = 8 * MB
    for i in range(0, max(len(data), 1), step):
        up.write(data[i:i + step])
    return up.finish(metadata, ingest)
