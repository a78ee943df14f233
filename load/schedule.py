"""The rate profile's engine: an open load, a ladder of offered requests per second.

Each step is held settle + measure seconds. A dispatcher releases one waiting user per 1/rate seconds
with the slot's scheduled time and the mix's next action; a slot that finds every user busy is
dropped and counted rather than saved up, so the offered load never slows down with the server. Each
response is timed from its slot's scheduled time as well as from its send (coordinated omission:
the verdict judges the scheduled one), and the generator's own CPU and lag are measured per step so
a step where the generator was the limit is marked inconclusive (judge.py).

After a failed step no slot is released until every request in flight has returned (at most
drain_seconds): the failed step's backlog would otherwise be served inside the next, lower step and
judged against it, and a lower rate close to the capacity drains that backlog only at the small
difference between the two. So every step starts from an empty system; the drain is recorded per step.
"""

import csv
import json
import os
import resource
import time
from collections import deque

from .judge import FAILED, Limits, Measured, judge, percentile
from .ladder import bracket_of, most_bisections, next_rate

STEP_COLUMNS = [
    "step",
    "offered_rps",
    "started_at",
    "measured_from",
    "ended_at",
    "measured_s",
    "slots",
    "dropped",
    "dropped_ratio",
    "requests",
    "failures",
    "achieved_rps",
    "error_ratio",
    # from the send, as Locust times a request
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    # from the slot's scheduled time: what the verdict judges
    "scheduled_p50_ms",
    "scheduled_p95_ms",
    "scheduled_p99_ms",
    "scheduled_max_ms",
    "latency_basis",
    "generator_cores",
    "lag_p99_ms",
    "verdict",
    "reasons",
    "held",
    # after a failed step: seconds without load until nothing was in flight, and what still was
    "drained_s",
    "in_flight_after_drain",
]
ENDPOINT_COLUMNS = [
    "step",
    "offered_rps",
    "name",
    "requests",
    "failures",
    "p50_ms",
    "p99_ms",
    "scheduled_p99_ms",
    "declared_share",
]


def process_cpu_seconds():
    """CPU time (user + system) of this process: the Locust process reads its own."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Slot:
    def __init__(self, due, action):
        self.due = due
        self.action = action


class RateStep:
    """One rung of the ladder: its schedule and what was measured in its window."""

    def __init__(self, index, rate, started_at, settle_seconds, measure_seconds):
        self.index = index
        self.rate = rate
        self.started_at = started_at
        self.measured_from = started_at + settle_seconds
        self.ended_at = self.measured_from + measure_seconds
        self.slots = 0  # slots due in the measured window
        self.dropped = 0  # of those, slots that found every user busy
        self.lags = []  # ms each measured slot was released after its scheduled time
        self.times = []  # ms from the send, of responses completed in the window
        self.scheduled = []  # ms from the slot's scheduled time, same responses
        self.failures = 0
        self.by_name = {}  # name -> [times, scheduled, failures]
        self.cpu = None  # (wall, process CPU s) at the window's start, then its end
        self.cpu_end = None
        self.judged = None  # the verdict, set once when the step ends (nothing counts in it after)
        self.drained_s = 0.0  # load-free seconds before this step, waiting for the requests in flight
        self.in_flight_after_drain = 0

    def measuring(self, now):
        return self.measured_from <= now < self.ended_at

    def dues(self):
        count = int(round(self.rate * (self.ended_at - self.started_at)))
        return (self.started_at + slot / self.rate for slot in range(count))

    def generator_cores(self):
        if self.cpu is None or self.cpu_end is None or self.cpu_end[0] <= self.cpu[0]:
            return 0.0
        return (self.cpu_end[1] - self.cpu[1]) / (self.cpu_end[0] - self.cpu[0])

    def measured(self):
        return Measured(
            offered_rps=self.rate,
            measured_s=self.ended_at - self.measured_from,
            slots=self.slots,
            dropped=self.dropped,
            failures=self.failures,
            scheduled_ms=self.scheduled,
            generator_cores=self.generator_cores(),
            lag_p99_ms=percentile(sorted(self.lags), 0.99) or 0.0,
        )

    def summary(self, limits):
        measured = self.measured()
        verdict = judge(measured, limits)
        times = sorted(self.times)
        scheduled = sorted(self.scheduled)
        ms = lambda values, share: round(percentile(values, share) or 0, 1)  # noqa: E731
        return {
            "step": self.index,
            "offered_rps": self.rate,
            "started_at": round(self.started_at, 3),
            "measured_from": round(self.measured_from, 3),
            "ended_at": round(self.ended_at, 3),
            "measured_s": round(measured.measured_s, 3),
            "slots": self.slots,
            "dropped": self.dropped,
            "dropped_ratio": round(measured.dropped_ratio, 5),
            "requests": measured.requests,
            "failures": self.failures,
            "achieved_rps": round(measured.achieved_rps, 2),
            "error_ratio": round(measured.error_ratio, 5),
            "p50_ms": ms(times, 0.5),
            "p95_ms": ms(times, 0.95),
            "p99_ms": ms(times, 0.99),
            "max_ms": round(times[-1] if times else 0, 1),
            "scheduled_p50_ms": ms(scheduled, 0.5),
            "scheduled_p95_ms": ms(scheduled, 0.95),
            "scheduled_p99_ms": ms(scheduled, 0.99),
            "scheduled_max_ms": round(scheduled[-1] if scheduled else 0, 1),
            "latency_basis": verdict.latency_basis,
            "generator_cores": round(measured.generator_cores, 3),
            "lag_p99_ms": round(measured.lag_p99_ms, 1),
            "verdict": verdict.verdict,
            "reasons": "; ".join(verdict.reasons),
            "held": verdict.verdict == "held",
            "drained_s": round(self.drained_s, 1),
            "in_flight_after_drain": self.in_flight_after_drain,
        }


class RateSchedule:
    """The ladder, its dispatcher and its records. Each step is planned when the one before ends, from
    its verdict (ladder.py: up the coarse ladder, then a bisection of the knee). Time and the
    process's CPU are read through `clock` and `cpu` so the engine can be driven by a test without
    waiting."""

    def __init__(
        self,
        rates,
        settle_seconds,
        measure_seconds,
        limits,
        mix,
        clock=time.time,
        cpu=process_cpu_seconds,
        bracket=0.05,
        drain_seconds=60.0,
    ):
        self.rates = list(rates)
        self.settle_seconds = settle_seconds
        self.measure_seconds = measure_seconds
        # The longest wait after a failed step for its requests in flight to return.
        self.drain_seconds = drain_seconds
        self.in_flight = 0  # slots handed to a user whose action has not returned (done())
        self.bracket = bracket
        self.limits = limits
        self.mix = mix
        self.actions = mix.sequence()
        self.clock = clock
        self.cpu = cpu
        self.waiting = deque()
        self.steps = []
        self.started_at = None
        self.stopped = False
        self.stopped_at = None

    @classmethod
    def from_env(cls, mix, env=os.environ):
        settle = float(env.get("LAB_SETTLE_SECONDS", "5"))
        return cls(
            rates=[float(rate) for rate in env.get("LAB_RATES", "25,50,100").split(",") if rate],
            settle_seconds=settle,
            measure_seconds=float(env.get("LAB_MEASURE_SECONDS", "30")),
            limits=Limits.from_env(env),
            mix=mix,
            bracket=float(env.get("LAB_BRACKET", "0.05")),
            drain_seconds=float(env.get("LAB_DRAIN_SECONDS", "60")),
        )

    def wait_for_slot(self):
        """Blocks the calling user until the dispatcher hands it a slot."""
        from gevent.event import AsyncResult

        slot = AsyncResult()
        self.waiting.append(slot)
        return slot.get()

    def done(self):
        """A user's action for its slot returned (answered, failed or raised)."""
        self.in_flight = max(0, self.in_flight - 1)

    def plan(self, now):
        """The first step, from `now`."""
        self.started_at = now
        self.steps = [RateStep(0, self.rates[0], now, self.settle_seconds, self.measure_seconds)]

    def verdict(self, step):
        return step.summary(self.limits)["verdict"]

    def advance(self, sleep):
        """Judges the last step and plans the next, or stops the run there. After a failed step the
        next starts once its requests in flight have returned (drain)."""
        last = self.steps[-1]
        last.judged = self.verdict(last)
        rate = next_rate(self.rates, [(step.rate, step.judged) for step in self.steps], self.bracket)
        if rate is None:
            self.stop(last.ended_at)
            return None
        start, drained = last.ended_at, 0.0
        if last.judged == FAILED:
            start = self.drain(sleep)
            drained = start - last.ended_at
        step = RateStep(len(self.steps), rate, start, self.settle_seconds, self.measure_seconds)
        step.drained_s, step.in_flight_after_drain = drained, self.in_flight
        self.steps.append(step)
        return step

    def drain(self, sleep, poll_seconds=0.1):
        """Releases nothing until no slot is in flight or drain_seconds have passed; returns when."""
        deadline = self.clock() + self.drain_seconds
        while self.in_flight > 0 and self.clock() < deadline:
            sleep(min(poll_seconds, deadline - self.clock()))
        return self.clock()

    def start(self):
        self.plan(self.clock())
        import gevent

        gevent.spawn(self.dispatch, gevent.sleep)

    def dispatch(self, sleep):
        """Releases each step's slots on time, reads the process's CPU at the edges of each measured
        window (the step's generator cores) and, at each step's end, plans the next."""

        def until(at):
            delay = at - self.clock()
            if delay > 0:
                sleep(delay)

        step = self.steps[0]
        while step is not None and not self.stopped:
            for due in step.dues():
                if step.cpu is None and due >= step.measured_from:
                    until(step.measured_from)
                    step.cpu = (self.clock(), self.cpu())
                until(due)
                if self.stopped:
                    return
                self.release(step, due, self.clock())
            # Responses are counted until the window's end: only then is the step judged.
            until(step.ended_at)
            step.cpu_end = (self.clock(), self.cpu())
            step = self.advance(sleep)

    def release(self, step, due, now):
        """One slot at `now` (due at `due`): the next action goes to the longest-waiting user, or is dropped."""
        action = next(self.actions)
        measured = step.measuring(due)
        if measured:
            step.slots += 1
            step.lags.append(max(0.0, now - due) * 1000)
        if self.waiting:
            self.in_flight += 1
            self.waiting.popleft().set(Slot(due, action))
        elif measured:
            step.dropped += 1

    def current(self, now):
        """The step whose span (settle and measured window) holds `now`."""
        for step in reversed(self.steps):
            if step.started_at <= now < step.ended_at:
                return step
        return None

    def record(self, name, response_time, due, failed):
        """A response that completed now: counted in the step whose measured window holds now."""
        now = self.clock()
        step = self.current(now)
        if step is None or not step.measuring(now):
            return
        scheduled = (now - due) * 1000 if due is not None else response_time
        step.times.append(response_time)
        step.scheduled.append(scheduled)
        step.failures += failed
        entry = step.by_name.setdefault(name, [[], [], 0])
        entry[0].append(response_time)
        entry[1].append(scheduled)
        entry[2] += failed

    def finished_steps(self, now):
        return [step for step in self.steps if step.ended_at <= now]

    def steps_left_at_most(self):
        """Coarse rates still above the last step's, or the bisections still possible, plus this one."""
        # Every step but the current one was judged when it ended: no percentiles on each progress tick.
        held, failed = bracket_of([(step.rate, step.judged) for step in self.steps[:-1]])
        if failed is None:
            return 1 + sum(1 for rate in self.rates if rate > self.steps[-1].rate) + most_bisections(self.rates, self.bracket)
        return 1 + most_bisections([held or failed / 2, failed], self.bracket)

    def stop(self, at):
        self.stopped, self.stopped_at = True, at

    def write_progress(self, path, now):
        step = self.current(now)
        if not path or step is None:
            return
        scheduled = sorted(step.scheduled)
        seconds = now - step.measured_from
        after = self.steps_left_at_most() - 1
        status = {
            "step": step.index + 1,
            "steps": step.index + 1 + after,
            "offered_rps": step.rate,
            "measuring": step.measuring(now),
            "achieved_rps": round(len(scheduled) / seconds, 1) if seconds > 1 and scheduled else None,
            "p99_ms": percentile(scheduled, 0.99),
            "failures": step.failures,
            "seconds_left_at_most": round(step.ended_at - now + after * (self.settle_seconds + self.measure_seconds)),
        }
        with open(path + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(status, handle)
        os.replace(path + ".tmp", path)

    def write_steps(self, path, until):
        """Every step that ended by `until`, with its verdict, and per step and endpoint: what the
        runner's analysis reads."""
        finished = self.finished_steps(until)
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=STEP_COLUMNS)
            writer.writeheader()
            writer.writerows(step.summary(self.limits) for step in finished)
        shares = self.mix.shares()
        with open(endpoints_path(path), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(ENDPOINT_COLUMNS)
            for step in finished:
                for name in sorted(set(step.by_name) | set(shares)):
                    times, scheduled, failures = step.by_name.get(name, [[], [], 0])
                    times, scheduled = sorted(times), sorted(scheduled)
                    writer.writerow(
                        [
                            step.index,
                            step.rate,
                            name,
                            len(times),
                            failures,
                            percentile(times, 0.5),
                            percentile(times, 0.99),
                            round(percentile(scheduled, 0.99), 1) if scheduled else None,
                            round(shares[name], 5) if name in shares else None,
                        ]
                    )


def endpoints_path(steps_path):
    return steps_path.replace(".csv", "_endpoints.csv")
