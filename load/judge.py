"""A rate step's verdict, held, failed or inconclusive, with its reasons: the ONE place a step is judged.

The steps CSV carries the verdict and the reasons; the runner's analysis
(scripts/experiments/analysis/rate.ts) only reads them.
"""

import math
import os
from dataclasses import dataclass, field

HELD = "held"
FAILED = "failed"
INCONCLUSIVE = "inconclusive"


def percentile(sorted_values, share):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(share * len(sorted_values)) - 1)]


@dataclass(frozen=True)
class Limits:
    """What a held step must meet, and when the generator, not the server, is the limit."""

    p99_limit_ms: float = 500.0
    error_limit: float = 0.01
    held_share: float = 0.95
    dropped_limit: float = 0.01
    # A p99 of fewer responses is one or two slow answers (a cold query): below this the step's
    # latency is judged on its p95, which leaves out at least the slowest 5 %.
    min_p99_samples: int = 300
    # Locust runs on one core: at this share of it, or this far behind its own schedule, the load
    # generator is what was measured.
    generator_cores: float = 0.9
    generator_lag_ms: float = 50.0

    @classmethod
    def from_env(cls, env=os.environ):
        defaults = cls()
        number = lambda name, default: float(env.get(name, default))  # noqa: E731
        return cls(
            p99_limit_ms=number("LAB_P99_LIMIT_MS", defaults.p99_limit_ms),
            error_limit=number("LAB_ERROR_LIMIT", defaults.error_limit),
            held_share=number("LAB_HELD_SHARE", defaults.held_share),
            dropped_limit=number("LAB_DROPPED_LIMIT", defaults.dropped_limit),
            min_p99_samples=int(number("LAB_MIN_P99_SAMPLES", defaults.min_p99_samples)),
            generator_cores=number("LAB_GENERATOR_CORES", defaults.generator_cores),
            generator_lag_ms=number("LAB_GENERATOR_LAG_MS", defaults.generator_lag_ms),
        )


@dataclass
class Measured:
    """A step's measured window as the schedule saw it."""

    offered_rps: float
    measured_s: float
    slots: int
    dropped: int
    failures: int
    # Each response's time from its slot's scheduled time (ms): what a user arriving then waited.
    scheduled_ms: list = field(default_factory=list)
    # The generator's own CPU (cores) over the window and how late it released slots (p99, ms).
    generator_cores: float = 0.0
    lag_p99_ms: float = 0.0

    @property
    def requests(self):
        return len(self.scheduled_ms)

    @property
    def achieved_rps(self):
        return self.requests / self.measured_s if self.measured_s > 0 else 0.0

    @property
    def error_ratio(self):
        return self.failures / self.requests if self.requests else 0.0

    @property
    def dropped_ratio(self):
        return self.dropped / self.slots if self.slots else 0.0


@dataclass
class Verdict:
    verdict: str
    reasons: list
    # Which latency the step was judged on ("p99" or "p95") and its value from the schedule (ms).
    latency_basis: str
    latency_ms: float


def judge(measured, limits):
    """Held when every limit is met; inconclusive when the generator was the limit (whatever else
    broke: the server's figures are then the generator's too); failed otherwise."""
    times = sorted(measured.scheduled_ms)
    basis = "p99" if len(times) >= limits.min_p99_samples else "p95"
    latency = percentile(times, 0.99 if basis == "p99" else 0.95) or 0.0
    generator = []
    if measured.generator_cores >= limits.generator_cores:
        generator.append(f"generator at {measured.generator_cores:.2f} of a core (≥ {limits.generator_cores:g})")
    if measured.lag_p99_ms > limits.generator_lag_ms:
        generator.append(
            f"generator {measured.lag_p99_ms:.0f} ms behind its schedule at p99 (> {limits.generator_lag_ms:g} ms)"
        )
    broke = []
    if not times:
        broke.append("no request completed")
    elif measured.achieved_rps < limits.held_share * measured.offered_rps:
        broke.append(
            f"achieved {measured.achieved_rps:.2f} of {measured.offered_rps:g} req/s offered "
            f"(< {limits.held_share * 100:g} %)"
        )
    if measured.dropped_ratio >= limits.dropped_limit:
        broke.append(
            f"dropped {measured.dropped} of {measured.slots} slots "
            f"({measured.dropped_ratio * 100:.2f} % ≥ {limits.dropped_limit * 100:g} %)"
        )
    if times and latency > limits.p99_limit_ms:
        note = "" if basis == "p99" else f", judged on p95: {len(times)} < {limits.min_p99_samples} responses"
        broke.append(f"{basis} from the schedule {latency:g} ms > {limits.p99_limit_ms:g} ms{note}")
    if measured.error_ratio >= limits.error_limit:
        broke.append(f"errors {measured.error_ratio * 100:.2f} % ≥ {limits.error_limit * 100:g} %")
    if generator:
        return Verdict(INCONCLUSIVE, generator + broke, basis, latency)
    return Verdict(FAILED if broke else HELD, broke, basis, latency)
