"""Lab 2 · LLM-LA: load-aware balancing of LLM requests across continuous-batching replicas.

Layout: a pure, seeded core (``replica`` — the vLLM-style continuous-batching replica,
``latency`` — its iteration-time model, ``policies`` and ``predictors`` — the pluggable router
logic, ``workload`` — synthetic arrivals and trace import, ``capacity`` — what "load ρ" means);
the SimPy adapter (``sim``); the live adapters (``live``: mock OpenAI-compatible engines, the
routing proxy, the replay load generator); experiments and the CLI on top.
"""
