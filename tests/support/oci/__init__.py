"""OCI images and registries for the registry crawler's tests, all real, all on loopback.

Modules, from the bottom up (each imports only those above it):

- `builder`: deterministic images in pure Python (`Layer`, `Image`, `Index`, entry kinds, media types).
- `layouts`: the same images on disk: OCI layout, OCI archive, `docker save` tarball.
- `catalogue`: `test_images()`, one image per situation the crawler must recognise.
- `push`: a raw `requests` client that pushes images (`push`, `RegistryClient`, `PushError`).
- `token_issuer`: a Docker-token-spec authorization server (`TokenIssuer`).
- `registry`: a real CNCF distribution registry as a child process (`start_registry`, `Registry`).
- `proxy`: a recording, fault-injecting reverse proxy in front of a registry (`RegistryProxy`).
"""
