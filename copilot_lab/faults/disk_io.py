"""Disk I/O contention (fio on the volume): the root waits on I/O; services on the same host
share the device and slow down a little too."""

from __future__ import annotations

from copilot_lab.faults.base import FAULTS, Effect, Fault


@FAULTS.register("disk_io", default=True)
class DiskIo(Fault):
    def effect(self, severity: float) -> Effect:
        return Effect(
            disk_add=60 * severity,
            self_add_ms=6 * severity,
            self_factor=1 + 0.5 * severity,
            neighbour_disk_add=20 * severity,
            neighbour_self_factor=1 + 0.2 * severity,
            logs=[("WARN", "slow write to /data/{file}: {ms} ms")],
        )
