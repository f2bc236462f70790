"""Lab 1 · TrIO: layered vs lazy vs flattened runtime images over a real FUSE mount.

Talk: "TrIO — a flattened and cooperative I/O mechanism for container environments" (FlacIO,
FAST'25; openEuler ``tools/trio``). Layout:

- pure core: ``model`` (nodes), ``layers`` (tars, whiteout union), ``chunked`` (flat format),
  ``trace``, ``runtime`` (trace → blob + extent index), ``cache`` + ``evictions/`` (runtime
  page cache), ``store`` (content-addressed build);
- adapters: ``registry`` (aiohttp blob server with an emulated link), ``fetch`` (client),
  ``loaders/`` (one file per loader), ``vfs`` (the read API), ``fuseops`` + ``daemon`` +
  ``mounts`` (FUSE mounts and their lifecycle), ``workload`` (the real start);
- experiments: ``startup`` (one cold start), ``experiment`` (``compare``), ``bench``;
- ``cli`` and ``lab`` (the ``sysai trio`` commands and the tour).
"""
