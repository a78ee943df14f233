"""Which rate the rate profile offers next: up the coarse ladder while steps hold, then a bisection
between the highest rate held and the lowest failed until they are within `bracket` of each other,
so two rungs' knees can be told apart by more than one coarse step (about 25 %)."""

import math

from .judge import FAILED, HELD


def bracket_of(judged):
    """(highest rate held below the lowest failed, lowest failed) over (rate, verdict) pairs; either
    is None while it does not exist."""
    failed = [rate for rate, verdict in judged if verdict == FAILED]
    ceiling = min(failed) if failed else None
    held = [rate for rate, verdict in judged if verdict == HELD and (ceiling is None or rate < ceiling)]
    return (max(held) if held else None), ceiling


def next_rate(ladder, judged, bracket=0.05):
    """The next offered rate after the steps `judged` ((rate, verdict) in the order run), or None
    when the run is over: a step was inconclusive (the generator was the limit), the ladder's top
    held, the first step failed, or the knee is bracketed within `bracket`. Bisection is geometric
    (the ladder is) and rounds to whole requests per second."""
    if any(verdict not in (HELD, FAILED) for _, verdict in judged):
        return None
    held, failed = bracket_of(judged)
    if failed is None:
        higher = [rate for rate in ladder if held is None or rate > held]
        return higher[0] if higher else None
    if held is None or failed <= held * (1 + bracket):
        return None
    middle = round(math.sqrt(held * failed))
    if not held < middle < failed:
        return None
    return middle


def most_bisections(ladder, bracket=0.05):
    """The most bisection steps any bracket of this ladder can take: for the runner's time bound."""
    widest = max((math.log(high / low) for low, high in zip(ladder, ladder[1:])), default=0.0)
    steps = 0
    while widest > math.log(1 + bracket):
        widest /= 2
        steps += 1
    return steps
