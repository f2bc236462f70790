"""Keep-alive policies: how long an idle function instance stays warm (one file per policy).

Each policy is asked, at every invocation of its function, for the :class:`Windows` to apply
once that invocation finishes. The same classes drive the live Ray runtime and the SimPy
simulation, so they never read a clock: the time comes in as an argument.
"""
