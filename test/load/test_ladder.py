"""The rate profile's next step (load/ladder.py): up the coarse ladder, then a bisection of the knee."""

from load.ladder import bracket_of, most_bisections, next_rate

LADDER = [5, 10, 20, 35, 50, 100, 200, 350, 500, 650, 800, 1000, 1250, 1600]


def test_the_coarse_ladder_climbs_while_every_step_holds():
    assert next_rate(LADDER, []) == 5
    assert next_rate(LADDER, [(5, "held"), (10, "held")]) == 20
    assert next_rate([5, 10], [(5, "held"), (10, "held")]) is None


def test_a_failed_step_is_bisected_geometrically_until_within_the_bracket():
    judged = [(rate, "held") for rate in LADDER[:11]] + [(1000, "held"), (1250, "failed")]
    assert next_rate(LADDER, judged) == 1118
    judged.append((1118, "held"))
    assert next_rate(LADDER, judged) == 1182
    judged.append((1182, "failed"))
    assert next_rate(LADDER, judged) == 1150
    judged.append((1150, "held"))
    # 1,150 held and 1,182 failed: 2.8 % apart, within 5 %.
    assert bracket_of(judged) == (1150, 1182)
    assert next_rate(LADDER, judged) is None


def test_a_held_step_above_a_failed_one_does_not_raise_the_knee():
    # Held at 1,300 after failing at 1,250 (noise): the knee stays below the lowest failed rate.
    judged = [(1000, "held"), (1250, "failed"), (1300, "held")]
    assert bracket_of(judged) == (1000, 1250)


def test_the_run_ends_on_an_inconclusive_step_or_a_failed_first_step():
    assert next_rate(LADDER, [(5, "held"), (10, "inconclusive")]) is None
    assert next_rate(LADDER, [(5, "failed")]) is None


def test_bisection_stops_when_whole_rates_cannot_split_the_bracket():
    assert next_rate([5, 6], [(5, "held"), (6, "failed")], bracket=0.01) is None


def test_most_bisections_bounds_every_bracket_of_the_ladder():
    # The widest coarse step is ×2 (5 → 10): 4 halvings of its log-width reach 5 %.
    assert most_bisections(LADDER) == 4
    for low, high in zip(LADDER, LADDER[1:]):
        judged, steps = [(low, "held"), (high, "failed")], 0
        while (rate := next_rate(LADDER, judged)) is not None:
            judged.append((rate, "failed" if rate > (low * high) ** 0.5 else "held"))
            steps += 1
        assert steps <= most_bisections(LADDER)
