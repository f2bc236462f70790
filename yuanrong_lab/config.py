"""A function's configuration: what you give `@function(...)` or `POST /functions`."""

from __future__ import annotations

from dataclasses import dataclass, field

from sysai.config import option
from sysai.errors import UserError
from yuanrong_lab.autoscaler import AutoscalerConfig
from yuanrong_lab.keepalive.base import KeepAliveConfig


@dataclass
class FunctionConfig:
    num_cpus: float = option(0.1, "CPUs reserved per instance (Ray actor resource)")
    resources: dict = option({}, 'custom Ray resources per instance, e.g. {"gpu_node": 0.1}: where it may run')
    memory_mb: float = option(128.0, "memory per instance, for idle memory-time accounting")
    timeout_s: float = option(30.0, "a call running longer fails with a timeout and its instance is stopped")
    queue_timeout_s: float = option(30.0, "a call waiting longer for a free instance fails (503) without running")
    init_timeout_s: float = option(30.0, "extra time a cold call may spend starting its instance (AWS: 10 s init)")
    concurrency: int = option(1, "calls one instance runs at once (openYuanrong concurrentNum, default 1)")
    min_instances: int = option(0, "instances kept loaded even when idle (0: scale to zero)")
    max_instances: int = option(8, "most instances at once")
    scale_up_window_s: float = option(1.0, "autoscaler scale-up window (openYuanrong: 1 s)")
    scale_down_window_s: float = option(60.0, "autoscaler scale-down window (openYuanrong: 60 s)")
    burst: bool = option(False, "autoscaler burst mode: scale up at once on a jump in demand")
    keepalive: KeepAliveConfig = field(
        default_factory=KeepAliveConfig, metadata={"help": "keep-alive policy and its knobs"}
    )

    def __post_init__(self) -> None:
        if (
            self.num_cpus < 0
            or self.memory_mb <= 0
            or self.timeout_s <= 0
            or self.queue_timeout_s <= 0
            or self.init_timeout_s < 0
            or self.concurrency < 1
            or self.max_instances < 1
        ):
            raise UserError(
                "function config: num_cpus >= 0, memory_mb > 0, timeout_s > 0, queue_timeout_s > 0, "
                "concurrency >= 1 and max_instances >= 1 are required"
            )
        if isinstance(self.keepalive, dict):
            from sysai.config import from_mapping

            self.keepalive = from_mapping(KeepAliveConfig, self.keepalive, "keepalive")
        self.autoscaler()  # validates min/max and the windows

    def autoscaler(self) -> AutoscalerConfig:
        return AutoscalerConfig(
            target_concurrency=float(self.concurrency),
            scale_up_window_s=self.scale_up_window_s,
            scale_down_window_s=self.scale_down_window_s,
            burst=self.burst,
            min_instances=self.min_instances,
            max_instances=self.max_instances,
        )
