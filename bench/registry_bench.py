"""Registry crawl speed: hullcheck vs `skopeo inspect` per image vs a raw loop of GET requests.

    python bench/registry_bench.py [TAGS]        (default 2000 tags: 40 repositories x 50 tags)

A real `docker-registry` (CNCF distribution) on loopback holds TAGS distinct single-platform
images (shared layers, one config each). Measured: hullcheck's first crawl (`hullcheck audit`,
empty database: catalog, tags, HEAD, manifest and config GETs) and its no-change recrawl;
`skopeo inspect` run once per image on a sample, then per image; and the raw floor, a
keep-alive `requests` loop doing only GET manifest + GET config per image, sequential and
with as many threads as hullcheck uses.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from support.oci.builder import Image, Layer
from support.oci.push import push
from support.oci.registry import start_registry

ACCEPT = ", ".join([
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
])  # fmt: skip
HULLCHECK = Path(sys.executable).with_name("hullcheck")
THREADS = 8  # hullcheck's default registry concurrency


def populate(url: str, tags: int) -> list[tuple[str, str]]:
    base, app = Layer({"etc/os-release": b"ID=bench\n"}), Layer({"app/bin": b"\x7fELF" + b"\0" * 4096})
    refs = [(f"bench/svc-{i // 50:02d}", f"v{i % 50}") for i in range(tags)]

    def one(i: int) -> None:
        repo, tag = refs[i]
        push(url, repo, tag, Image([base, app], {"Labels": {"build": str(i)}, "User": "app"}))

    # Blobs are linked per repository and concurrent uploads of one blob race: the first tag of each
    # repository goes first, alone; the others only add a config and a manifest.
    firsts = [i for i in range(tags) if i % 50 == 0]
    for i in firsts:
        one(i)
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(one, [i for i in range(tags) if i % 50]))
    return refs


def raw_loop(url: str, refs: list[tuple[str, str]], threads: int) -> float:
    local = __import__("threading").local()

    def one(ref: tuple[str, str]) -> None:
        s = getattr(local, "s", None) or setattr(local, "s", requests.Session()) or local.s
        m = s.get(f"{url}/v2/{ref[0]}/manifests/{ref[1]}", headers={"Accept": ACCEPT}, timeout=30).json()
        s.get(f"{url}/v2/{ref[0]}/blobs/{m['config']['digest']}", timeout=30).raise_for_status()

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, refs))
    return time.perf_counter() - start


def main(tags: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hc-registry-bench-") as tmp:
        reg = start_registry(Path(tmp) / "registry")
        try:
            t0 = time.perf_counter()
            refs = populate(reg.url, tags)
            print(f"pushed {len(refs)} images in {time.perf_counter() - t0:.1f}s to {reg.host}")
            cfg = Path(tmp) / "hullcheck.yaml"
            cfg.write_text(f"database: h.duckdb\nregistries:\n  - url: {reg.host}\n")
            rate = {}
            for label in ("hullcheck first crawl", "hullcheck no-change recrawl"):
                start = time.perf_counter()
                out = subprocess.run([str(HULLCHECK), "audit", "-q", "-c", str(cfg)], capture_output=True, text=True)
                elapsed = time.perf_counter() - start
                assert out.returncode == 0, out.stdout + out.stderr
                rate[label] = len(refs) / elapsed
                summary = out.stdout.splitlines()[-1].strip()
                print(f"{label:<36} {elapsed:7.2f}s  {rate[label]:8.1f} images/s   ({summary})")
            sample = refs[:: max(1, len(refs) // 100)][:100]
            start = time.perf_counter()
            for repo, tag in sample:
                subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{reg.host}/{repo}:{tag}"],
                               check=True, capture_output=True)  # fmt: skip
            skopeo = len(sample) / (time.perf_counter() - start)
            print(f"{'skopeo inspect, one per image':<36} {len(sample)} sampled   {skopeo:8.1f} images/s")
            for threads in (1, THREADS):
                elapsed = raw_loop(reg.url, refs, threads)
                raw = len(refs) / elapsed
                print(f"{f'raw GET loop, {threads} thread(s)':<36} {elapsed:7.2f}s  {raw:8.1f} images/s")
                rate[f"raw{threads}"] = raw
            first = rate["hullcheck first crawl"]
            parallel = rate[f"raw{THREADS}"]
            print(f"hullcheck first crawl = {first / skopeo:.1f}x skopeo, {first / rate['raw1']:.0%} of the "
                  f"sequential raw loop, {first / parallel:.0%} of the {THREADS}-thread raw loop")  # fmt: skip
        finally:
            reg.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
