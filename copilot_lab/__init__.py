"""Lab 4 · EulerCopilot: multi-agent root-cause analysis over simulated metrics, logs and traces.

Talk: "EulerCopilot — intelligent fault diagnosis and optimization in openEuler". The lab mirrors
the public openEuler pieces: gala-gopher collects telemetry (here: :mod:`copilot_lab.world`),
gala-anteater scores anomalies with n-sigma rules (:mod:`copilot_lab.anomaly`), gala-inference
ranks root causes by a random walk over the topology (:mod:`copilot_lab.agents.topology`), and the
witty diagnosis agent fuses several "jurors" by confidence and flags answers below 0.7
(:mod:`copilot_lab.coordinator`), with past cases as one more juror (:mod:`copilot_lab.memory`).
Everything in the core is pure numpy and seeded.
"""
