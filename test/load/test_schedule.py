"""The rate engine (load/schedule.py) driven on a fake clock: slots, drops, the same mix at every
rate, scheduled-time latency, the generator's CPU and the steps files with their verdicts."""

import csv
from collections import Counter

from load.judge import Limits
from load.mix import Action, Mix
from load.schedule import STEP_COLUMNS, RateSchedule, endpoints_path

# Shaped like the closed model's first requests: flows that start with a catalog page would
# make it dominate a low rate (a slot per request, 1,000 users: 20 req/s reached each user's
# second request after 50 s).
MIX = Mix([Action("/courses", 17, None), Action("/courses/:id", 28, None), Action("/enrollments", 4, None), Action("/payments", 1, None)])


class Clock:
    def __init__(self, now=1000.0):
        self.now = now
        self.cpu_seconds = 0.0
        self.cpu_share = 0.2  # cores the fake process uses while time passes

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        self.cpu_seconds += seconds * self.cpu_share

    def cpu(self):
        return self.cpu_seconds


class User:
    """A waiting user: takes its slot, is answered at once and waits again, until `busy_from`, when
    its request never returns (the server stopped keeping up)."""

    def __init__(self, schedule, clock, busy_from=float("inf")):
        self.schedule, self.clock, self.busy_from = schedule, clock, busy_from
        self.slots = []

    def set(self, slot):
        self.slots.append(slot)
        if self.clock.now < self.busy_from:
            self.schedule.record(slot.action.name, 5, slot.due, 0)
            self.schedule.done()
            self.schedule.waiting.append(self)


def ladder(rates, settle=1.0, measure=4.0, drain_seconds=60.0, **limits):
    clock = Clock()
    schedule = RateSchedule(
        rates, settle, measure, Limits(**limits), MIX, clock=clock, cpu=clock.cpu, drain_seconds=drain_seconds
    )
    schedule.plan(clock())
    return schedule, clock


def test_every_slot_is_offered_and_one_that_finds_no_user_waiting_is_dropped():
    schedule, clock = ladder([20, 50])
    # Halfway through the second step's window (its settle starts at the first's end) the server
    # stops answering: 5 users hold 5 more slots, and every later slot is dropped.
    users = [User(schedule, clock, busy_from=schedule.steps[0].ended_at + 1 + 2) for _ in range(5)]
    schedule.waiting.extend(users)
    schedule.dispatch(clock.sleep)
    first, second = schedule.steps[:2]
    assert (first.slots, first.dropped) == (80, 0)
    assert (second.slots, second.dropped) == (200, 95)
    assert not schedule.waiting
    assert sum(len(user.slots) for user in users) == 100 + 250 - 95


def test_the_mix_is_the_table_s_at_every_rate():
    schedule, clock = ladder([5, 20, 100], measure=10.0)
    slots = []

    class Endless:
        def __bool__(self):
            return True

        def popleft(self):
            return self

        def set(self, slot):
            slots.append(slot)
            schedule.record(slot.action.name, 5, slot.due, 0)

    schedule.waiting = Endless()
    schedule.dispatch(clock.sleep)
    for step in schedule.steps:
        counts = Counter({name: len(entry[0]) for name, entry in step.by_name.items()})
        total = sum(counts.values())
        for name, share in MIX.shares().items():
            # Within one request of the declared share (and of each other) at 50, 200 and 1,000 requests.
            assert abs(counts[name] - share * total) <= 1, (step.rate, name, counts)


def test_a_response_is_timed_from_its_slot_s_scheduled_time():
    schedule, clock = ladder([10], settle=0.0, measure=1.0)
    step = schedule.steps[0]
    clock.now = step.started_at + 0.5
    # Due at the start, sent late (the user was busy), answered in 20 ms: waited 520 ms.
    schedule.record("/courses", 20, step.started_at, 0)
    assert step.times == [20]
    assert step.scheduled == [500.0]
    # The slot left 30 ms late: the generator's lag behind its schedule.
    schedule.release(step, step.started_at, step.started_at + 0.03)
    assert round(step.lags[0]) == 30


def test_the_generator_s_cpu_over_each_window():
    schedule, clock = ladder([10, 20])
    schedule.waiting.extend(User(schedule, clock) for _ in range(5))
    clock.cpu_share = 0.95
    schedule.dispatch(clock.sleep)
    summary = schedule.steps[0].summary(schedule.limits)
    assert summary["generator_cores"] == 0.95
    # The generator was the limit: the run ends there, inconclusive.
    assert summary["verdict"] == "inconclusive"
    assert len(schedule.steps) == 1 and schedule.stopped


def test_the_steps_files_carry_each_step_s_verdict_and_the_declared_mix(tmp_path):
    schedule, clock = ladder([20, 50, 3000], min_p99_samples=50)
    # Two steps of 5 s from the start, then the third's 1 s settle and 2 s of its window.
    schedule.waiting.extend(User(schedule, clock, busy_from=clock.now + 10 + 1 + 2) for _ in range(30))
    schedule.dispatch(clock.sleep)
    path = str(tmp_path / "locust_steps.csv")
    schedule.write_steps(path, schedule.steps[2].ended_at)
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0].keys()) == STEP_COLUMNS
    assert [row["verdict"] for row in rows] == ["held", "held", "failed"]
    assert [row["held"] for row in rows] == ["True", "True", "False"]
    assert rows[2]["reasons"].startswith("achieved ")
    assert "dropped " in rows[2]["reasons"]
    assert rows[0]["latency_basis"] == "p99"
    with open(endpoints_path(path), encoding="utf-8") as handle:
        endpoints = list(csv.DictReader(handle))
    first = {row["name"]: row for row in endpoints if row["step"] == "0"}
    assert {name: float(row["declared_share"]) for name, row in first.items()} == MIX.shares()
    assert sum(int(row["requests"]) for row in first.values()) == 80


def test_the_knee_is_bisected_after_the_first_failed_step_and_the_run_stops_by_itself():
    # The server keeps up to 1,100 req/s: 10 users, each busy 9.1 ms per answer; past that every
    # user is busy and slots are dropped.
    schedule, clock = ladder([200, 500, 1000, 2000], settle=1.0, measure=4.0)

    class Server:
        def __init__(self):
            self.free_at = []

        def __bool__(self):
            self.free_at = [at for at in self.free_at if at > clock.now]
            return len(self.free_at) < 10

        def popleft(self):
            return self

        def set(self, slot):
            self.free_at.append(clock.now + 1 / 1100 * 10)
            schedule.record(slot.action.name, 5, slot.due, 0)
            schedule.done()

    schedule.waiting = Server()
    schedule.dispatch(clock.sleep)
    rates = [step.rate for step in schedule.steps]
    verdicts = [schedule.verdict(step) for step in schedule.steps]
    assert rates[:4] == [200, 500, 1000, 2000]
    assert verdicts[:4] == ["held", "held", "held", "failed"]
    # 1,000 → 2,000 bisected geometrically: 1414 (failed), 1189 (failed), 1090 (held), 1138 (failed).
    assert rates[4:] == [1414, 1189, 1090, 1138]
    assert verdicts[4:] == ["failed", "failed", "held", "failed"]
    assert schedule.stopped and schedule.stopped_at == schedule.steps[-1].ended_at
    # Nothing was left in flight after the failed steps: each next step started at once.
    assert all(step.drained_s == 0 and step.in_flight_after_drain == 0 for step in schedule.steps)
    assert schedule.steps[4].started_at == schedule.steps[3].ended_at


class SlowServer:
    """Users that answer at once until `slow_from`, then each after `answer_seconds` (None: never);
    its `sleep` moves the fake clock and returns the users whose answers are due."""

    def __init__(self, schedule, clock, users, slow_from, answer_seconds):
        self.schedule, self.clock = schedule, clock
        self.slow_from, self.answer_seconds = slow_from, answer_seconds
        self.returning = []  # (at, slot)
        self.handed = []  # (time handed, slot)
        schedule.waiting.extend(self for _ in range(users))

    def set(self, slot):
        self.handed.append((self.clock.now, slot))
        if self.clock.now < self.slow_from:
            self.answer(slot)
        elif self.answer_seconds is not None:
            self.returning.append((self.clock.now + self.answer_seconds, slot))

    def answer(self, slot):
        self.schedule.record(slot.action.name, 5, slot.due, 0)
        self.schedule.done()
        self.schedule.waiting.append(self)

    def sleep(self, seconds):
        self.clock.sleep(seconds)
        due = [entry for entry in self.returning if entry[0] <= self.clock.now]
        self.returning = [entry for entry in self.returning if entry[0] > self.clock.now]
        for _, slot in due:
            self.answer(slot)


def test_after_a_failed_step_nothing_is_released_until_the_requests_in_flight_return():
    # 20 req/s held; from the 50 req/s step's window on, 5 users take 7 s per answer: it fails.
    schedule, clock = ladder([20, 50], settle=1.0, measure=4.0, drain_seconds=30.0)
    server = SlowServer(schedule, clock, 5, slow_from=clock.now + 5 + 1, answer_seconds=7.0)
    schedule.dispatch(server.sleep)
    failed, after = schedule.steps[1], schedule.steps[2]
    assert [schedule.verdict(step) for step in schedule.steps[:2]] == ["held", "failed"]
    # The last of the failed step's answers came back 7 s after it was sent, within its window's
    # last 7 s: the next step began only then, and no slot went out in between.
    last_sent = max(at for at, _ in server.handed if at < failed.ended_at)
    assert after.started_at >= last_sent + 7.0
    assert after.drained_s == after.started_at - failed.ended_at > 0
    assert after.in_flight_after_drain == 0
    assert not [at for at, _ in server.handed if failed.ended_at <= at < after.started_at]


def test_a_drain_that_never_ends_is_cut_at_its_limit_and_recorded():
    schedule, clock = ladder([20, 50], settle=1.0, measure=4.0, drain_seconds=30.0)
    SlowServer(schedule, clock, 5, slow_from=clock.now + 5 + 1, answer_seconds=None)
    schedule.dispatch(clock.sleep)
    after = schedule.steps[2]
    assert after.drained_s == 30.0
    assert after.in_flight_after_drain == 5
