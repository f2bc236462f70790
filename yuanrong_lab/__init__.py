"""Lab 3 · openYuanrong: a serverless function runtime on a real Ray cluster.

Talk: "openYuanrong — a serverless distributed compute engine" (openEuler; SIGCOMM'24 Yuanrong).
The lab rebuilds the engine's user-visible mechanisms on Ray:

* pure core (no I/O, time passed in): keep-alive policies (:mod:`yuanrong_lab.keepalive`), the
  warm pool (:mod:`yuanrong_lab.pool`), the autoscaler (:mod:`yuanrong_lab.autoscaler`), the
  workload generator and Azure-trace importer (:mod:`yuanrong_lab.workload`);
* a SimPy trace-scale simulation driving those same classes (:mod:`yuanrong_lab.keepalive_sim`);
* the live runtime on Ray actors (:mod:`yuanrong_lab.runtime`) with an openYuanrong-like API,
  and its aiohttp HTTP gateway (:mod:`yuanrong_lab.gateway`).

``import yuanrong_lab.runtime as yr`` gives openYuanrong's names: ``yr.init``, ``yr.invoke``, ``yr.instance``,
``yr.get``, ``yr.put``, ``yr.wait``, ``yr.cancel``, ``yr.kv_*``, ``yr.finalize`` (the module stays
light so ``sysai --help`` is fast).
"""
