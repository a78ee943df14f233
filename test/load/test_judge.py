"""A rate step's verdict (load/judge.py): each limit on its own, the low-rate rule, the generator."""

from load.judge import FAILED, HELD, INCONCLUSIVE, Limits, Measured, judge

LIMITS = Limits()


def step(**changes):
    """100 req/s for 30 s, every slot answered in 20 ms: held."""
    values = dict(offered_rps=100, measured_s=30, slots=3000, dropped=0, failures=0, scheduled_ms=[20.0] * 3000)
    values.update(changes)
    return Measured(**values)


def test_a_step_within_every_limit_is_held():
    verdict = judge(step(), LIMITS)
    assert (verdict.verdict, verdict.reasons, verdict.latency_basis) == (HELD, [], "p99")


def test_each_limit_fails_the_step_on_its_own():
    slow = [20.0] * 2960 + [501.0] * 40
    cases = {
        "achieved 94.00 of 100 req/s offered (< 95 %)": step(scheduled_ms=[20.0] * 2820),
        "dropped 30 of 3000 slots (1.00 % ≥ 1 %)": step(dropped=30),
        "p99 from the schedule 501 ms > 500 ms": step(scheduled_ms=slow),
        "errors 1.00 % ≥ 1 %": step(failures=30),
        "no request completed": step(scheduled_ms=[]),
    }
    for reason, measured in cases.items():
        assert (judge(measured, LIMITS).verdict, judge(measured, LIMITS).reasons) == (FAILED, [reason])
    # Just inside each limit.
    assert judge(step(dropped=29, failures=29, scheduled_ms=[20.0] * 2970 + [501.0] * 30), LIMITS).verdict == HELD


def test_latency_is_judged_from_the_schedule_not_the_send():
    # Answered in 20 ms once sent, but sent 600 ms after the slot was due: what a user waited.
    verdict = judge(step(scheduled_ms=[620.0] * 3000), LIMITS)
    assert verdict.verdict == FAILED
    assert verdict.latency_ms == 620.0


def test_one_cold_query_does_not_fail_a_low_rate_step():
    # 5 req/s for 30 s: 150 responses, two slow cold queries. Their p99 would be the second one.
    cold = step(offered_rps=5, slots=150, scheduled_ms=[10.0] * 148 + [900.0, 950.0])
    verdict = judge(cold, LIMITS)
    assert (verdict.verdict, verdict.latency_basis, verdict.latency_ms) == (HELD, "p95", 10.0)
    # Slow beyond the p95 still fails it, saying which rule judged it.
    slow = judge(step(offered_rps=5, slots=150, scheduled_ms=[10.0] * 140 + [900.0] * 10), LIMITS)
    assert slow.verdict == FAILED
    assert slow.reasons == ["p95 from the schedule 900 ms > 500 ms, judged on p95: 150 < 300 responses"]
    # From 300 responses on, the p99.
    assert judge(step(offered_rps=10, slots=300, scheduled_ms=[10.0] * 296 + [900.0] * 4), LIMITS).verdict == FAILED


def test_a_step_where_the_generator_was_the_limit_is_inconclusive():
    busy = judge(step(generator_cores=0.95, scheduled_ms=[700.0] * 3000), LIMITS)
    assert busy.verdict == INCONCLUSIVE
    assert busy.reasons == ["generator at 0.95 of a core (≥ 0.9)", "p99 from the schedule 700 ms > 500 ms"]
    late = judge(step(lag_p99_ms=80), LIMITS)
    assert (late.verdict, late.reasons) == (INCONCLUSIVE, ["generator 80 ms behind its schedule at p99 (> 50 ms)"])
    assert judge(step(generator_cores=0.89, lag_p99_ms=50), LIMITS).verdict == HELD


def test_limits_come_from_the_environment_with_the_documented_defaults():
    assert Limits.from_env({}) == Limits(500, 0.01, 0.95, 0.01, 300, 0.9, 50)
    assert Limits.from_env({"LAB_P99_LIMIT_MS": "250", "LAB_DROPPED_LIMIT": "0.02"}).p99_limit_ms == 250
    assert Limits.from_env({"LAB_DROPPED_LIMIT": "0.02"}).dropped_limit == 0.02
