"""Layer contents: stream a layer once (gzip, zstd or plain tar, never whole in memory) into
file rows, and summarise an image from its layers' rows (pure, apart from the iterator fed in).

Wasted bytes are the bytes of file versions that a later layer overwrites or deletes: they
still ship in every pull. Unlike dive, the surviving copy is not counted as waste.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hullcheck.errors import ExtractError

_HEAD_BYTES = 4096  # enough to see ELF and UPX headers
TOOLCHAIN_NAMES = frozenset({
    "gcc", "cc", "c++", "g++", "clang", "clang++", "go", "javac", "rustc", "cargo", "make", "cmake", "ld", "as",
    "mvn", "gradle", "tsc", "gfortran",
})  # fmt: skip
DATA_EXTENSIONS = frozenset({
    ".csv", ".tsv", ".parquet", ".h5", ".hdf5", ".pt", ".pth", ".onnx", ".safetensors", ".npz", ".npy", ".pkl",
    ".pickle", ".ckpt", ".tfrecord", ".arrow", ".feather", ".gguf", ".bin.gz",
})  # fmt: skip
SHELLS = frozenset({"bin/sh", "bin/bash", "bin/ash", "bin/dash", "bin/busybox", "usr/bin/bash", "usr/bin/sh"})
PACKAGE_MANAGERS = {
    "usr/bin/apt-get": "apt", "usr/bin/dpkg": "dpkg", "sbin/apk": "apk", "usr/bin/yum": "yum",
    "usr/bin/dnf": "dnf", "usr/bin/microdnf": "microdnf", "usr/bin/rpm": "rpm", "usr/bin/zypper": "zypper",
}  # fmt: skip


class LayerScanError(ExtractError):
    pass


@dataclass(frozen=True, slots=True)
class ScanLimits:
    """What one layer may cost the scan: past these it is recorded as too large, and the audit goes on."""

    max_bytes: int = 16 * 1024**3  # uncompressed bytes of one layer
    max_ratio: int = 200  # uncompressed / compressed: far beyond real layers (text compresses ~10x)
    max_files: int = 500_000
    # The ratio is judged only past this much: a sparse /var/log/lastlog of zeros (useradd makes them)
    # legitimately compresses 1000:1, and streaming it costs time, never memory.
    ratio_after: int = 1024**3


@dataclass(slots=True)
class FileRow:
    path: str  # without leading ./ or /; for whiteouts, the path they delete
    size: int
    mode: int
    type: str  # file | dir | symlink | hardlink | whiteout | opaque | other
    is_elf: bool
    is_upx: bool


@dataclass(slots=True)
class LayerScan:
    digest: str
    uncompressed_bytes: int
    files: list[FileRow] = field(default_factory=list)


class _Chunks(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the blob as it streams in)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buf = memoryview(b"")
        self.total = 0  # compressed bytes consumed

    def readable(self) -> bool:
        return True

    def readinto(self, out: Any) -> int:
        while not self._buf:
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(out), len(self._buf))
        out[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self.total += n
        return n


class _Counted(io.RawIOBase):
    """Counts the uncompressed bytes tarfile reads, and stops a decompression bomb early."""

    def __init__(self, inner: Any, compressed: _Chunks, limits: ScanLimits, digest: str) -> None:
        self.inner, self.total = inner, 0
        self.compressed, self.limits, self.digest = compressed, limits, digest

    def readable(self) -> bool:
        return True

    def readinto(self, out: Any) -> int:
        data = self.inner.read(len(out))
        out[: len(data)] = data
        self.total += len(data)
        lim = self.limits
        if self.total > lim.max_bytes:
            raise LayerTooLarge(f"layer {self.digest}: too large to scan (over {lim.max_bytes} uncompressed bytes)")
        if self.total > lim.ratio_after and self.total > lim.max_ratio * max(self.compressed.total, 1):
            raise LayerTooLarge(
                f"layer {self.digest}: looks like a decompression bomb ({self.total} bytes from "
                f"{self.compressed.total} compressed, over {lim.max_ratio}x); not scanned further"
            )
        return len(data)


class LayerTooLarge(LayerScanError):
    """The layer is past a scan limit (size, compression ratio, file count)."""


def _decompressed(source: _Chunks, media_type: str) -> Any:
    """Bounded-memory decompression that reads every gzip member and every zstd frame (eStargz,
    zstd:chunked are several): decompressing whole chunks at once costs quadratic time on
    highly compressible files and silently stops after the first member."""
    raw = io.BufferedReader(source, 1 << 20)
    if "zstd" in media_type:
        import zstandard  # only layers compressed with zstd need it

        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    if "gzip" in media_type:
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw


def _norm(name: str) -> str:
    name = name.removeprefix("./").lstrip("/")  # not lstrip("./"): `.wh.opt` and `.dockerenv` start with a dot
    return posixpath.normpath(name) if name not in ("", ".") else ""


def scan_layer(chunks: Iterable[bytes], media_type: str, digest: str, limits: ScanLimits | None = None) -> LayerScan:
    limits = limits or ScanLimits()
    source = _Chunks(chunks)
    stream = _Counted(_decompressed(source, media_type), source, limits, digest)
    files: list[FileRow] = []
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
            for m in tar:
                files.append(_row(tar, m))
                if len(files) > limits.max_files:
                    raise LayerTooLarge(f"layer {digest}: too many files to scan (over {limits.max_files})")
    except LayerScanError:
        raise
    except Exception as e:  # tarfile, zlib, zstandard, a bug: this layer is not scanned, the audit goes on
        raise LayerScanError(f"layer {digest}: not a readable tar stream: {type(e).__name__}: {e}") from None
    with contextlib.suppress(OSError, EOFError, ValueError, zlib.error):
        while stream.read(1 << 20):  # drain: the blob's digest is checked at the end of the stream
            pass  # (padding or garbage after a complete tar is not an error)
    return LayerScan(digest, stream.total, files)


def _row(tar: tarfile.TarFile, m: tarfile.TarInfo) -> FileRow:
    path = _norm(m.name)
    base = posixpath.basename(path)
    if base == ".wh..wh..opq":
        return FileRow(posixpath.dirname(path), 0, m.mode, "opaque", False, False)
    if base.startswith(".wh."):
        return FileRow(posixpath.join(posixpath.dirname(path), base[4:]), 0, m.mode, "whiteout", False, False)
    kind = ("file" if m.isreg() else "dir" if m.isdir() else "symlink" if m.issym()
            else "hardlink" if m.islnk() else "other")  # fmt: skip
    is_elf = is_upx = False
    if m.isreg() and m.size >= 4:
        f = tar.extractfile(m)
        head = f.read(_HEAD_BYTES) if f else b""
        is_elf = head.startswith(b"\x7fELF")
        is_upx = is_elf and b"UPX!" in head
    return FileRow(path, m.size if m.isreg() else 0, m.mode, kind, is_elf, is_upx)


@dataclass(slots=True)
class FilesSummary:
    uncompressed_bytes: int  # sum of the layers' tar streams
    final_bytes: int  # regular files in the final filesystem
    wasted_bytes: int  # file versions overwritten or deleted by a later layer
    file_count: int
    upx_files: list[str]
    toolchains: list[str]
    data_files: list[str]
    data_bytes: int
    has_shell: bool
    package_managers: list[str]


def summarize(layers: list[LayerScan]) -> FilesSummary:
    current: dict[str, FileRow] = {}
    wasted = 0
    for layer in layers:
        # A layer's whiteouts hide what lower layers wrote, never the layer's own files.
        ordered = [f for f in layer.files if f.type in ("whiteout", "opaque")]
        ordered += [f for f in layer.files if f.type not in ("whiteout", "opaque")]
        for f in ordered:
            if f.type in ("whiteout", "opaque"):
                prefix = f.path + "/"
                doomed = [p for p in current if p.startswith(prefix)] + ([f.path] if f.type == "whiteout" else [])
                for p in doomed:
                    if p in current:
                        wasted += current.pop(p).size
                continue
            old = current.get(f.path)
            if old is not None:
                wasted += old.size
            current[f.path] = f
    final = [f for f in current.values() if f.type == "file"]
    data = [f for f in final if any(f.path.lower().endswith(ext) for ext in DATA_EXTENSIONS)]
    tools = sorted(
        {
            posixpath.basename(f.path)
            for f in final
            if posixpath.basename(f.path) in TOOLCHAIN_NAMES and posixpath.dirname(f.path).endswith("bin")
        }
    )
    return FilesSummary(
        uncompressed_bytes=sum(layer.uncompressed_bytes for layer in layers),
        final_bytes=sum(f.size for f in final),
        wasted_bytes=wasted,
        file_count=len(final),
        upx_files=sorted(f.path for f in final if f.is_upx),
        toolchains=tools,
        data_files=sorted(f.path for f in data),
        data_bytes=sum(f.size for f in data),
        has_shell=any(p in current for p in SHELLS),
        package_managers=sorted({name for p, name in PACKAGE_MANAGERS.items() if p in current}),
    )
