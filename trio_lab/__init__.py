"""Lab 1 · TrIO: layered vs lazy vs flattened runtime images over a real FUSE mount.

Talk: "TrIO — a flattened and cooperative I/O mechanism for container environments" (FlacIO,
FAST'25; openEuler ``tools/trio``). Layout: a pure core (``model``, ``layers``, ``chunked``,
``trace``, ``runtime``, ``cache``, ``store``), adapters (``registry`` HTTP server, ``fetch``
client, ``loaders/`` behind a registry, ``vfs`` read API, ``fusefs`` mounts), the workload
(``workload``), the experiments (``experiment``, ``bench``) and a thin CLI (``cli``).
"""
