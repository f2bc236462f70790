"""Lab 1 · TrIO: layered vs lazy vs flattened runtime images over a real FUSE mount.

Talk: "TrIO — a flattened and cooperative I/O mechanism for container environments" (FlacIO,
FAST'25; openEuler ``tools/trio``). Layout:

"Runtime" has one meaning in this lab: TrIO's runtime image (the trace packed into one blob)
and the runtime page cache it is loaded into.

- pure core: ``model`` (nodes), ``layers`` (tars, whiteout union), ``chunked`` (flat format),
  ``codec`` (gzip members, zstd frames), ``trace``, ``runtime`` (trace → blob + extent index),
  ``cache`` + ``evictions/`` (the daemon's runtime page cache), ``store`` (content-addressed build);
- adapters: ``blobserver`` (aiohttp blob server with an emulated link), ``fetch`` (client),
  ``loaders/`` (one file per loader), ``vfs`` (the read API), ``fuseops`` + ``daemon`` +
  ``mounts`` + ``session`` (FUSE mounts and their lifecycle), ``hostcache`` (containers in
  namespaces + memory cgroups, the kernel's page-cache counters), ``workload`` (the real start),
  ``record`` (tracing a user's command);
- rooms: ``startup`` (one cold start), ``experiments`` (``compare``, the host page cache),
  ``report`` (tables, figures), ``tour``, ``bench``, ``cli`` (thin), ``lab``.
"""
