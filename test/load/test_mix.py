"""The mix as a weighted table (load/mix.py) and the rate profile's standard table."""

from collections import Counter

import pytest

from load.mix import Action, Mix


def noop(user, context):
    return None


def test_every_window_of_the_table_s_total_holds_each_action_its_weight():
    mix = Mix([Action("a", 5, noop), Action("b", 3, noop), Action("c", 1, noop), Action("d", 1, noop)])
    picks = [action.name for action, _ in zip(mix.sequence(), range(10 * mix.total))]
    for start in range(0, len(picks), mix.total):
        assert Counter(picks[start : start + mix.total]) == {"a": 5, "b": 3, "c": 1, "d": 1}
    # Spread out, not in runs: any 10 picks in a row are within one of the table's shares.
    for start in range(len(picks) - 10):
        counts = Counter(picks[start : start + 10])
        for name, share in mix.shares().items():
            assert abs(counts[name] - 10 * share) <= 1.5


def test_a_table_names_each_action_once_with_whole_weights():
    with pytest.raises(ValueError):
        Mix([])
    with pytest.raises(ValueError):
        Mix([Action("a", 1, noop), Action("a", 2, noop)])
    with pytest.raises(ValueError):
        Mix([Action("a", 0, noop)])
    with pytest.raises(ValueError):
        Mix([Action("a", 0.5, noop)])
