"""The catalogue of test images: one per situation the registry crawler must recognise.

Why these: each image isolates one thing a real registry holds (labels and secrets in a
config, multi-arch indexes in both formats, empty layers, whiteouts and wasted bytes,
toolchains and package databases, data/model files, packed binaries, zstd layers,
distroless images). Contents are deterministic (seeded pseudo-random bytes), so digests
are stable across runs and machines.

UPX: where `upx` is installed (Debian 13's upx-ucl; scripts/test installs it when the
distribution has it), `upx_elf()` is /bin/true really packed with it. Debian bookworm has no
`upx-ucl`, so there it builds by hand a tiny, runnable x86-64 ELF (it just calls exit(0))
that carries what detectors look for in a UPX-packed binary: section names `UPX0`/`UPX1`,
the `UPX!` magic (after the program headers, where UPX's l_info sits, and again near the end
like UPX's PackHeader) and the `$Info: This file is packed with the UPX executable packer`
banner. It is not really packed.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from support.oci.builder import DEFAULT_ENV, Dir, File, Image, Index, Layer, OpaqueWhiteout, Symlink, Whiteout, exe

SOURCE = "https://git.example.org/acme/single"
REVISION = "0123456789abcdef0123456789abcdef01234567"
MACHINES = {"amd64": 0x3E, "arm64": 0xB7, "arm": 0x28}


def rand(seed: str, n: int) -> bytes:
    """`n` pseudo-random (incompressible) bytes, the same on every run."""
    return random.Random(seed).randbytes(n)


def elf_stub(name: str, arch: str = "amd64", size: int = 256) -> bytes:
    """A small file that starts like an ELF executable of `arch` (not runnable): enough for `file`-style sniffing."""
    ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    header = ident + struct.pack("<HHI", 2, MACHINES[arch], 1)
    body = f"{name} ({arch}) hullcheck test stub\n".encode()
    return (header + body + rand(name + arch, size))[: max(size, len(header) + len(body))]


def upx_elf() -> bytes:
    """An ELF packed by the real `upx` when the machine has it (Debian 13's upx-ucl), else by hand."""
    real = _real_upx_elf()
    return real if real is not None else _hand_made_upx_elf()


def _real_upx_elf() -> bytes | None:
    """/bin/true packed with `upx -1` in a temporary directory; None without upx or when packing fails."""
    if shutil.which("upx") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "packed"
        done = subprocess.run(["upx", "-1", "-q", "-o", str(out), "/bin/true"], capture_output=True, check=False)
        return out.read_bytes() if done.returncode == 0 and out.exists() else None


def _hand_made_upx_elf() -> bytes:
    """A runnable x86-64 ELF exiting 0, with UPX0/UPX1 sections, `UPX!` magic and the UPX banner."""
    base, code = 0x400000, b"\xb8\x3c\x00\x00\x00\x31\xff\x0f\x05"  # mov eax,60; xor edi,edi; syscall
    l_info = struct.pack("<I4sHBB", 0, b"UPX!", 0x0D0C, 14, 22)  # checksum, magic, lsize, version, format
    p_info = struct.pack("<III", 0, 0x1000, 0x1000)
    banner = (
        b"$Info: This file is packed with the UPX executable packer http://upx.sf.net $\n"
        b"$Id: UPX 4.02 Copyright (C) 1996-2023 the UPX Team. All Rights Reserved. $\n"
    )
    shstrtab = b"\0UPX0\0UPX1\0.shstrtab\0"
    code_off = 64 + 56 + len(l_info) + len(p_info)
    tail = code + banner + b"UPX!" + b"\0" * 28  # PackHeader-like trailer
    strtab_off = code_off + len(tail)
    sh_off = (strtab_off + len(shstrtab) + 7) & ~7
    total = sh_off + 4 * 64
    ehdr = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, base + code_off, 64, sh_off, 0, 64, 56, 1, 64, 4, 3)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, total, total, 0x1000)

    def shdr(name: int, kind: int, flags: int, addr: int, off: int, size: int) -> bytes:
        return struct.pack("<IIQQQQIIQQ", name, kind, flags, addr, off, size, 0, 0, 1, 0)

    sections = (
        shdr(0, 0, 0, 0, 0, 0)
        + shdr(1, 8, 0x3, base + 0x10000, 0, 0x1000)  # UPX0: NOBITS, alloc+write (where UPX unpacks)
        + shdr(6, 1, 0x6, base + code_off, code_off, len(tail))  # UPX1: PROGBITS, alloc+exec
        + shdr(11, 3, 0, 0, strtab_off, len(shstrtab))  # .shstrtab
    )
    head = ehdr + phdr + l_info + p_info + tail + shstrtab
    out = head.ljust(sh_off, b"\0") + sections
    assert len(out) == total
    return out


def os_release(name: str, ident: str, version: str, pretty: str) -> bytes:
    return f'NAME="{name}"\nID={ident}\nVERSION_ID={version}\nPRETTY_NAME="{pretty}"\n'.encode()


def dpkg_status(packages: list[tuple[str, str, str]]) -> bytes:
    """A /var/lib/dpkg/status with (package, version, architecture) stanzas."""
    stanzas = [
        f"Package: {p}\nStatus: install ok installed\nPriority: optional\nSection: devel\nInstalled-Size: 1024\n"
        f"Maintainer: Debian Maintainers <debian@example.org>\nArchitecture: {a}\nVersion: {v}\n"
        f"Description: {p} (hullcheck test fixture)\n"
        for p, v, a in packages
    ]
    return "\n".join(stanzas).encode()


def apk_installed(packages: list[tuple[str, str]]) -> bytes:
    """An Alpine /lib/apk/db/installed with (package, version) records."""
    return "".join(
        f"P:{p}\nV:{v}\nA:x86_64\nS:1024\nI:4096\nT:{p} test fixture\nL:MIT\n\n" for p, v in packages
    ).encode()


def alpine_base(arch: str = "amd64") -> Layer:
    return Layer(
        {
            "/etc/os-release": os_release("Alpine Linux", "alpine", "3.19.1", "Alpine Linux v3.19"),
            "/etc/alpine-release": b"3.19.1\n",
            "/etc/passwd": b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/sbin/nologin\n",
            "/bin/busybox": exe(elf_stub("busybox", arch, 512)),
            "/bin/sh": Symlink("/bin/busybox"),
            "/sbin/apk": exe(elf_stub("apk", arch)),
            "/lib/apk/db/installed": apk_installed([("busybox", "1.36.1-r15"), ("musl", "1.2.4_git20230717-r4")]),
            "/tmp": Dir(0o1777),
        }
    )


def _single() -> Image:
    app = Layer({"/app/server": exe(elf_stub("server", size=2048)), "/app/config.yaml": b"port: 8080\n"})
    history: list[dict[str, Any]] = [
        {"created_by": "/bin/sh -c #(nop) ADD file:alpine-minirootfs in / "},
        {"created_by": '/bin/sh -c #(nop)  CMD ["/bin/sh"]', "empty_layer": True},
        {"created_by": "COPY server config.yaml /app/ # buildkit", "comment": "buildkit.dockerfile.v0"},
        {"created_by": "ENV DB_PASSWORD=hunter2 APP_ENV=production", "empty_layer": True},
        {"created_by": "USER app", "empty_layer": True},
        {"created_by": "EXPOSE map[8080/tcp:{}]", "empty_layer": True},
        {"created_by": "HEALTHCHECK &{[CMD /app/server --health] 30s 5s 0s 0s 3}", "empty_layer": True},
    ]
    config = {
        "User": "app",
        "Env": [*DEFAULT_ENV, "APP_ENV=production", "DB_PASSWORD=hunter2"],
        "Entrypoint": ["/app/server"],
        "Cmd": ["--port", "8080"],
        "WorkingDir": "/app",
        "ExposedPorts": {"8080/tcp": {}},
        "Labels": {
            "org.opencontainers.image.source": SOURCE,
            "org.opencontainers.image.revision": REVISION,
            "org.opencontainers.image.title": "single",
            "org.opencontainers.image.version": "1.0",
        },
        "Healthcheck": {"Test": ["CMD", "/app/server", "--health"], "Interval": 30_000_000_000, "Retries": 3},
        "StopSignal": "SIGTERM",
    }
    return Image([alpine_base(), app], config, history=history, author="hullcheck tests")


def _per_arch(media: str, arch: str, variant: str | None) -> Image:
    app = Layer({"/usr/local/bin/app": exe(elf_stub("app", arch, 1024))})
    labels = {"org.opencontainers.image.source": "https://git.example.org/acme/multiarch"}
    return Image(
        [alpine_base(arch), app],
        {"Entrypoint": ["/usr/local/bin/app"], "Labels": labels},
        architecture=arch,
        variant=variant,
        media="oci" if media == "oci" else "docker",
    )


def _multiarch(media: str) -> Index:
    images = [_per_arch(media, "amd64", None), _per_arch(media, "arm64", "v8")]
    return Index([(img, img.platform) for img in images], media="oci" if media == "oci" else "docker")


def _emptylayer() -> Image:
    base = Layer({"/etc/os-release": os_release("Debian GNU/Linux", "debian", "12", "Debian GNU/Linux 12 (bookworm)")})
    app = Layer({"/srv/app.txt": b"hello\n"})
    history: list[dict[str, Any]] = [
        {"created_by": "/bin/sh -c #(nop) ADD file:debian-rootfs in / "},
        {"created_by": '/bin/sh -c #(nop)  CMD ["bash"]', "empty_layer": True},
        {"created_by": "/bin/sh -c #(nop)  ENV LANG=C.UTF-8", "empty_layer": True},
        {"created_by": "/bin/sh -c true"},  # a RUN that changed nothing: an empty tar layer
        {"created_by": '/bin/sh -c #(nop)  LABEL maintainer="ops@example.org"', "empty_layer": True},
        {"created_by": "/bin/sh -c #(nop) COPY file:app.txt in /srv/ "},
        {"created_by": "/bin/sh -c #(nop) WORKDIR /srv", "empty_layer": True},
    ]
    config = {"Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], "Cmd": ["bash"], "WorkingDir": "/srv"}
    return Image([base, Layer({}), app], config, history=history, media="docker")


WHITEOUT_SIZES = {
    "/app/big.bin": 65_536,
    "/var/cache/apt/archives/a.deb": 32_768,
    "/var/cache/apt/archives/b.deb": 16_384,
}
APP_CONF_V1 = b"# app.conf v1\n" + b"x = 1\n" * 682  # 4 KB, overwritten by layer 2


def _whiteouts() -> Image:
    """Layer 1 writes; layer 2 deletes big.bin (.wh.), hides /var/cache/apt (opaque), rewrites app.conf.

    Wasted bytes (present in layer 1, invisible in the final filesystem) = WHITEOUT_WASTED_BYTES.
    """
    first = Layer(
        {
            **{path: rand(path, n) for path, n in WHITEOUT_SIZES.items()},
            "/app/keep.txt": b"still here\n",
            "/etc/app.conf": APP_CONF_V1,
        }
    )
    second = Layer(
        {
            "/app/big.bin": Whiteout(),
            "/var/cache/apt": OpaqueWhiteout(),
            "/etc/app.conf": b"# app.conf v2\nx = 2\n",
        }
    )
    return Image([first, second])


WHITEOUT_WASTED_BYTES = sum(WHITEOUT_SIZES.values()) + len(APP_CONF_V1)


def _toolchain() -> Image:
    packages = [
        ("base-files", "12.4+deb12u5", "amd64"),
        ("dash", "0.5.12-2", "amd64"),
        ("libc6", "2.36-9+deb12u4", "amd64"),
        ("dpkg", "1.21.22", "amd64"),
        ("apt", "2.6.1", "amd64"),
        ("gcc-12", "12.2.0-14", "amd64"),
        ("make", "4.3-4.1", "amd64"),
        ("golang-1.19-go", "1.19.8-2", "amd64"),
    ]
    base = Layer(
        {
            "/etc/os-release": os_release("Debian GNU/Linux", "debian", "12", "Debian GNU/Linux 12 (bookworm)"),
            "/etc/debian_version": b"12.5\n",
            "/bin/dash": exe(elf_stub("dash")),
            "/bin/sh": Symlink("dash"),
            "/usr/bin/dpkg": exe(elf_stub("dpkg")),
            "/usr/bin/apt-get": exe(elf_stub("apt-get")),
            "/var/lib/dpkg/status": dpkg_status(packages),
        }
    )
    tools = Layer({f"/usr/bin/{name}": exe(elf_stub(name)) for name in ("gcc", "cc", "make", "go")})
    config = {"Cmd": ["/bin/sh"], "WorkingDir": "/src"}
    return Image([base, tools], config)


def _safetensors(n_floats: int) -> bytes:
    header = {"weight": {"dtype": "F32", "shape": [n_floats], "data_offsets": [0, 4 * n_floats]}}
    raw = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(raw)) + raw + rand("safetensors", 4 * n_floats)


def _datasets() -> Image:
    rows = "".join(f"{i},{(i * 7919) % 1000 / 10:.1f},{'cat' if i % 3 else 'dog'}\n" for i in range(8000))
    data = Layer(
        {
            "/data/train.csv": ("id,value,label\n" + rows).encode(),
            "/data/features.parquet": b"PAR1" + rand("parquet", 32_768) + struct.pack("<I", 512) + b"PAR1",
            "/models/model.onnx": b"\x08\x07\x12\x07pytorch\x1a\x052.1.0" + rand("onnx", 65_536),
            "/weights.safetensors": _safetensors(24_576),
        }
    )
    base = Layer({"/etc/os-release": os_release("Debian GNU/Linux", "debian", "12", "Debian GNU/Linux 12 (bookworm)")})
    return Image([base, data], {"Cmd": ["python", "-m", "serve"], "WorkingDir": "/"})


def _upx() -> Image:
    return Image([alpine_base(), Layer({"/usr/local/bin/packed": exe(upx_elf())})], {"Cmd": ["/usr/local/bin/packed"]})


def _zstd() -> Image:
    layer = Layer(
        {
            "/etc/os-release": os_release("Alpine Linux", "alpine", "3.19.1", "Alpine Linux v3.19"),
            "/srv/data.txt": b"zstd compressed layer\n" * 200,
        },
        compression="zstd",
    )
    return Image([layer], {"Cmd": ["/bin/true"]})


def _distroless() -> Image:
    base = Layer(
        {
            "/etc/os-release": os_release("Debian GNU/Linux", "debian", "12", "Distroless"),
            "/etc/passwd": (
                b"root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
                b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
            ),
            "/etc/group": b"root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
            "/etc/ssl/certs/ca-certificates.crt": b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "/home/nonroot": Dir(0o700),
            "/var/lib/dpkg/status.d/base-files": dpkg_status([("base-files", "12.4+deb12u5", "amd64")]),
            "/var/lib/dpkg/status.d/tzdata": dpkg_status([("tzdata", "2024a-0+deb12u1", "all")]),
        }
    )
    app = Layer({"/app/server": File(elf_stub("server", size=1024), 0o755, 65532, 65532)})
    config = {
        "User": "nonroot",
        "WorkingDir": "/home/nonroot",
        "Entrypoint": ["/app/server"],
        "Env": ["SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"],
    }
    return Image([base, app], config)


@functools.cache
def _catalogue() -> dict[str, Image | Index]:
    return {
        "single": _single(),
        "multiarch": _multiarch("oci"),
        "dockerv2": _multiarch("docker"),
        "emptylayer": _emptylayer(),
        "whiteouts": _whiteouts(),
        "toolchain": _toolchain(),
        "datasets": _datasets(),
        "upx": _upx(),
        "zstd": _zstd(),
        "distroless": _distroless(),
    }


def test_images() -> dict[str, Image | Index]:
    """name -> image or index; built once per process (deterministic), a fresh dict each call."""
    return dict(_catalogue())


test_images.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name
