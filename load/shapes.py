"""Locust load shapes: the capacity profile's user steps and the rate profile's ladder.

locustfile.py imports only the shape its profile uses: Locust takes the first shape class it finds
in the locustfile's namespace.
"""

import math
import os

from locust import LoadTestShape


class CapacityShape(LoadTestShape):
    """Steps of LAB_STEP_USERS more users every LAB_STEP_SECONDS, until a step ends over the limits
    or LAB_MAX_USERS is passed. A step is judged as the runner judges it from the history: from
    settle_seconds after its user count is reached (not after the step's start: the ramp itself takes
    longer than planned under load, and its logins would be judged), the highest p99 seen
    (LAB_P99_LIMIT_MS) and the share of failed requests (LAB_ERROR_LIMIT)."""

    step_users = int(os.environ.get("LAB_STEP_USERS", "100"))
    step_seconds = float(os.environ.get("LAB_STEP_SECONDS", "40"))
    max_users = int(os.environ.get("LAB_MAX_USERS", "1500"))
    spawn_rate = float(os.environ.get("LAB_SPAWN_RATE", "10"))
    p99_limit_ms = float(os.environ.get("LAB_P99_LIMIT_MS", "500"))
    error_limit = float(os.environ.get("LAB_ERROR_LIMIT", "0.01"))
    # Locust's CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW plus the ramp, as the runner's settleSeconds.
    settle_seconds = math.ceil(step_users / spawn_rate) + 10

    step = -1
    reached_at = None
    baseline = None
    highest_p99 = 0

    def tick(self):
        run_time = self.get_run_time()
        step = int(run_time // self.step_seconds)
        if step != self.step:
            if self.step >= 0 and self.over_limits():
                return None
            self.step, self.reached_at, self.baseline, self.highest_p99 = step, None, None, 0
        users = (self.step + 1) * self.step_users
        if users > self.max_users:
            return None
        if self.reached_at is None and self.runner.user_count >= users:
            self.reached_at = run_time
        total = self.runner.stats.total
        if self.reached_at is not None and run_time - self.reached_at >= self.settle_seconds:
            if self.baseline is None:
                self.baseline = (total.num_requests, total.num_failures)
            p99 = total.get_current_response_time_percentile(0.99) or 0
            self.highest_p99 = max(self.highest_p99, p99)
        return users, self.spawn_rate

    def over_limits(self):
        if self.baseline is None:
            return False
        total = self.runner.stats.total
        requests = total.num_requests - self.baseline[0]
        failures = total.num_failures - self.baseline[1]
        errors_over = requests > 0 and failures / requests > self.error_limit
        return self.highest_p99 > self.p99_limit_ms or errors_over


class RateShape(LoadTestShape):
    """Spawns LAB_USERS users, which wait for slots; once all are up the ladder starts. The schedule
    plans each step from the verdicts before it (load/ladder.py) and stops itself: after an
    inconclusive step (the generator was the limit, so a higher rate would measure it again), at the
    ladder's top, or once the knee is bracketed. `schedule` and `progress_file` are set by
    locustfile.py."""

    users = int(os.environ.get("LAB_USERS", "1000"))
    spawn_rate = float(os.environ.get("LAB_SPAWN_RATE", "200"))
    schedule = None
    progress_file = None

    def tick(self):
        schedule = self.schedule
        if schedule.started_at is None:
            if self.runner.user_count >= self.users:
                schedule.start()
            return self.users, self.spawn_rate
        if schedule.stopped:
            return None
        schedule.write_progress(self.progress_file, schedule.clock())
        return self.users, self.spawn_rate
