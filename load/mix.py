"""A load's mix: a declared, weighted table of actions, each exactly one request.

The rate engine takes a Mix as input and hands every slot of its schedule the next action, so the
share of each action is the table's at every offered rate; a second load (another client's shape
of traffic) is a second table, not a second engine.
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Action:
    """One request of the mix: `name` is the request's name in the statistics (its route template),
    `run(user, context)` sends it, passing `context` on to the request."""

    name: str
    weight: int
    run: Callable


class Mix:
    def __init__(self, actions):
        actions = list(actions)
        if not actions:
            raise ValueError("a mix needs at least one action")
        names = [action.name for action in actions]
        if len(set(names)) != len(names):
            raise ValueError(f"a mix names each action once: {names}")
        if any(not isinstance(action.weight, int) or action.weight <= 0 for action in actions):
            raise ValueError("a mix's weights are whole numbers > 0")
        self.actions = actions
        self.total = sum(action.weight for action in actions)

    def shares(self):
        return {action.name: action.weight / self.total for action in self.actions}

    def sequence(self):
        """Smooth weighted round-robin: every window of `total` picks holds each action exactly
        `weight` times, spread out rather than in runs, so even a short step gets the table's mix."""
        current = [0] * len(self.actions)
        while True:
            for index, action in enumerate(self.actions):
                current[index] += action.weight
            chosen = max(range(len(self.actions)), key=lambda index: current[index])
            current[chosen] -= self.total
            yield self.actions[chosen]
