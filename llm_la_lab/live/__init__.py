"""Live mode: the same replica model and the same policy objects over real HTTP (aiohttp).

``engine`` — mock OpenAI-compatible engines that run :class:`~llm_la_lab.replica.ReplicaCore` in
(scaled) real time; ``proxy`` — a routing proxy in front of any OpenAI-compatible backends;
``replay`` — a load generator that replays a trace against a URL and measures the same metrics.
"""

#: The proxy's policy when none is named: the talk's.
DEFAULT_PROXY_POLICY = "llm_la"
#: What `live-compare` runs when no policy is named: the baseline and the talk's policy.
LIVE_POLICIES = ("round_robin", "llm_la")
