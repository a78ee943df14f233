"""Coursework Lab load: students (70%), searchers (20%) and teachers (10%) against the five services.

Runs on Debian's python3-locust 2.12 and on current Locust. `bun run experiment` (headless) and
`bun run locust` (the web UI) start it with:
  IDENTITY_URL, COURSE_URL, ENROLLMENT_URL, PAYMENT_URL, NOTIFICATION_URL  base URL of each service
      (the contract's ports 8001-8005 when unset); a Host given to Locust moves them all to that
      machine, each on its own port (services_on)
  LAB_INPUT_FILE   JSON exported by the runner from the seeded database and scripts/seed/vocabulary.ts:
      {"password": ..., "students": [emails], "teachers": [verified teachers' emails],
       "vocabulary": {"common": [words], "rare": [words]}}
  LAB_WRITES_FILE  optional: every enrollment and payment answered 201 is appended here as a JSON line
  LAB_PROFILE=capacity  selects the step load shape below (LAB_STEP_USERS, LAB_STEP_SECONDS,
      LAB_MAX_USERS, LAB_SPAWN_RATE, LAB_P99_LIMIT_MS, LAB_ERROR_LIMIT)
  LAB_PROFILE=rate  an open load: a ladder of offered requests per second (LAB_RATES, LAB_SETTLE_SECONDS,
      LAB_MEASURE_SECONDS, LAB_USERS, LAB_P99_LIMIT_MS, LAB_ERROR_LIMIT, LAB_HELD_SHARE), users signed in
      beforehand (the input file's "tokens"), each step's numbers written to LAB_STEPS_FILE
Requests are named by route template so each endpoint is one row in the statistics.
"""

import csv
import gc
import json
import math
import os
import random
import time
import uuid
from collections import deque
from urllib.parse import quote, urlsplit

import gevent
from gevent.queue import Channel, Full
from locust import FastHttpUser, LoadTestShape, between, constant, events, task
from locust.stats import StatsCSVFileWriter


def service_url(name, port):
    return os.environ.get(f"{name}_URL", f"http://127.0.0.1:{port}").rstrip("/")


SERVICE_URLS = {
    "identity": service_url("IDENTITY", 8001),
    "course": service_url("COURSE", 8002),
    "enrollment": service_url("ENROLLMENT", 8003),
    "payment": service_url("PAYMENT", 8004),
    "notification": service_url("NOTIFICATION", 8005),
}


def services_on(host):
    """The services' URLs on the machine Locust's Host names (-H, or the web UI's Host field).

    One Host cannot name five services, so it names the machine (scheme and host name) and each service
    keeps its own port; the default Host, the course service's URL, leaves every URL as configured.
    """
    if not host or host.rstrip("/") == SERVICE_URLS["course"]:
        return dict(SERVICE_URLS)
    target = urlsplit(host if "://" in host else f"http://{host}")
    if not target.hostname:
        return dict(SERVICE_URLS)
    moved = {}
    for name, url in SERVICE_URLS.items():
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
        moved[name] = f"{target.scheme}://{target.hostname}{port}{parts.path}".rstrip("/")
    return moved

PAGE_SIZE = 20
# Most visitors stay on the first catalog pages; deep offsets are rare.
CATALOG_PAGES = [0, 0, 0, 0, 1, 1, 2, 3, 5, 9]
COMMON_TERM_SHARE = 0.7
LEVELS = ["beginner", "intermediate", "advanced"]


# The rate profile's open load (see RateShape at the end); read before the user classes use it.
RATED = os.environ.get("LAB_PROFILE") == "rate"
RATE = None


def read_input():
    path = os.environ.get("LAB_INPUT_FILE")
    if not path:
        raise SystemExit("LAB_INPUT_FILE is not set: run Locust with `bun run locust` or `bun run experiment`, which write it")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    for key in ("password", "students", "teachers", "vocabulary") + (("tokens",) if RATED else ()):
        if not data.get(key):
            raise SystemExit(f"{path}: '{key}' is missing or empty")
    return data


# Read when a run starts (not at import), so `locust --help` works without it.
INPUT = {}


@events.init.add_listener
def load_input(**_kwargs):
    INPUT.update(read_input())


class Outcome:
    """A request's result: ok with the JSON body for an expected status; not ok for a tolerated one or a failure."""

    def __init__(self, ok, body):
        self.ok = ok
        self.body = body


def call(user, method, url, name, expect=(200,), tolerate=(), token=None, **kwargs):
    """One request through catch_response: statuses in `expect` and `tolerate` pass, anything else is a failure."""
    if RATE is not None:
        RATE.wait_for_slot()
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    with user.client.request(method, url, name=name, headers=headers, catch_response=True, **kwargs) as response:
        status = response.status_code
        if status in expect:
            try:
                body = response.json()
            except ValueError:
                response.failure(f"{status} with a body that is not JSON")
                return Outcome(False, None)
            response.success()
            return Outcome(True, body)
        if status in tolerate:
            response.success()
            return Outcome(False, None)
        detail = (response.text or "")[:200] if status else repr(getattr(response, "error", None))
        response.failure(f"unexpected {status}: {detail}")
        return Outcome(False, None)


class LabUser(FastHttpUser):
    abstract = True
    # FastHttpUser needs a host; every request below names its service's absolute URL (services_on).
    host = SERVICE_URLS["course"]
    # Under the rate profile the arrival schedule paces every request (call); the users do not think.
    wait_time = constant(0) if RATED else between(0.5, 1.5)
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self):
        self.token = None
        self.seen = []
        urls = services_on(self.host)
        self.identity, self.course, self.enrollment, self.payment, self.notification = (
            urls[name] for name in ("identity", "course", "enrollment", "payment", "notification")
        )

    def login(self, email):
        outcome = call(
            self,
            "POST",
            f"{self.identity}/login",
            "/login",
            json={"email": email, "password": INPUT["password"]},
        )
        self.token = outcome.body["access_token"] if outcome.ok else None
        return self.token is not None

    def browse_catalog(self):
        offset = random.choice(CATALOG_PAGES) * PAGE_SIZE
        outcome = call(self, "GET", f"{self.course}/courses?limit={PAGE_SIZE}&offset={offset}", "/courses")
        if outcome.ok and outcome.body["items"]:
            self.seen = outcome.body["items"]

    def open_course(self, course):
        call(self, "GET", f"{self.course}/courses/{course['id']}", "/courses/:id")


class StudentUser(LabUser):
    weight = 70

    def on_start(self):
        super().on_start()
        self.enrolled = set()
        if RATED:
            self.email, self.token = random.choice(INPUT["tokens"]["students"])
        else:
            self.email = random.choice(INPUT["students"])
            self.login(self.email)

    def authorised(self):
        return self.token is not None or self.login(self.email)

    @task(4)
    def catalog(self):
        self.browse_catalog()

    @task(4)
    def course_page(self):
        if not self.seen:
            return self.browse_catalog()
        course = random.choice(self.seen)
        self.open_course(course)
        call(self, "GET", f"{self.enrollment}/enrollments/course/{course['id']}/count", "/enrollments/course/:id/count")

    @task(1)
    def enroll(self):
        if not self.authorised():
            return
        candidates = [course for course in self.seen if course["id"] not in self.enrolled]
        if not candidates:
            return self.browse_catalog()
        course = random.choice(candidates)
        self.enrolled.add(course["id"])
        if course["price_cents"] == 0:
            self.enroll_in(course, None)
            return
        payment = call(
            self,
            "POST",
            f"{self.payment}/payments",
            "/payments",
            expect=(201,),
            token=self.token,
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={"course_id": course["id"], "amount_cents": course["price_cents"]},
        )
        if not payment.ok:
            return
        if self.enroll_in(course, payment.body["id"]):
            call(
                self,
                "POST",
                f"{self.notification}/notifications",
                "/notifications",
                expect=(201,),
                token=self.token,
                json={"type": "enrollment", "message": f"You are enrolled in {course['title']}"},
            )

    def enroll_in(self, course, payment_id):
        body = {"course_id": course["id"]}
        if payment_id is not None:
            body["payment_id"] = payment_id
        # 409: the seed may already have enrolled this student in the course.
        outcome = call(
            self, "POST", f"{self.enrollment}/enrollments", "/enrollments", expect=(201,), tolerate=(409,),
            token=self.token, json=body,
        )
        return outcome.ok

    @task(1)
    def my_courses(self):
        if not self.authorised():
            return
        outcome = call(self, "GET", f"{self.enrollment}/enrollments/me", "/enrollments/me", token=self.token)
        if outcome.ok:
            self.enrolled.update(item["course_id"] for item in items_of(outcome.body))

    @task(1)
    def notifications(self):
        if self.authorised():
            call(self, "GET", f"{self.notification}/notifications/me", "/notifications/me", token=self.token)


def items_of(body):
    """A paged answer ({items: [...]}) or a plain list."""
    return body["items"] if isinstance(body, dict) else body


class SearchUser(LabUser):
    weight = 20

    @task
    def search(self):
        kind = "common" if random.random() < COMMON_TERM_SHARE else "rare"
        term = random.choice(INPUT["vocabulary"][kind])
        name = f"/courses?q=:{kind}"
        offset = 0
        # Some searchers page on while there are more results.
        while True:
            outcome = call(self, "GET", f"{self.course}/courses?q={quote(term)}&limit={PAGE_SIZE}&offset={offset}", name)
            if not outcome.ok:
                return
            if outcome.body["items"]:
                self.seen = outcome.body["items"]
            if not outcome.body["has_more"] or random.random() > 0.3:
                break
            offset += PAGE_SIZE
        if self.seen and random.random() < 0.5:
            self.open_course(random.choice(self.seen))


class TeacherUser(LabUser):
    weight = 10

    def on_start(self):
        super().on_start()
        self.created = []
        if RATED:
            self.email, self.token = random.choice(INPUT["tokens"]["teachers"])
        else:
            self.email = random.choice(INPUT["teachers"])
            self.login(self.email)

    @task(1)
    def create_course(self):
        if self.token is None and not self.login(self.email):
            return
        words = random.sample(INPUT["vocabulary"]["common"], 2) + random.sample(INPUT["vocabulary"]["rare"], 1)
        outcome = call(
            self,
            "POST",
            f"{self.course}/courses",
            "/courses (create)",
            expect=(201,),
            token=self.token,
            json={
                "title": " ".join(words).capitalize(),
                "description": f"A course on {', '.join(words)}, written during a load test.",
                "level": random.choice(LEVELS),
                "price_cents": random.choice([0, 0, 1900, 4900, 9900]),
                "duration_hours": random.randint(1, 40),
            },
        )
        if outcome.ok:
            self.created.append(outcome.body)

    @task(3)
    def view_own_course(self):
        if self.created:
            self.open_course(random.choice(self.created))
        else:
            self.browse_catalog()


@events.quit.add_listener
def write_final_csv(**_kwargs):
    """Locust 2.12 rewrites its --csv files from a greenlet once a second and flushes them every 10 s,
    but not at exit: the files can miss the last second of requests (and a short run its whole
    history), while the printed summary has them. At `quit` every user has stopped and the statistics
    are final: flush the history, close Locust's handles and write the other files once more, whole.
    The writer is not reachable from the environment in headless mode, hence the search."""
    for writer in [candidate for candidate in gc.get_objects() if isinstance(candidate, StatsCSVFileWriter)]:
        try:
            writer.stats_history_flush()
        except ValueError:
            pass  # a newer Locust closed its files itself
        writer.close_files()
        for suffix, write in (
            ("_stats.csv", writer.requests_csv),
            ("_failures.csv", writer.failures_csv),
            ("_exceptions.csv", writer.exceptions_csv),
        ):
            with open(writer.base_filepath + suffix, "w", newline="", encoding="utf-8") as handle:
                write(csv.writer(handle))


# Issue 10's no-lost-writes check: every write the services acknowledged, one JSON line each.
WRITES_FILE = os.environ.get("LAB_WRITES_FILE")
WRITE_KINDS = {"/enrollments": "enrollment", "/payments": "payment"}

if WRITES_FILE:
    writes = open(WRITES_FILE, "a", encoding="utf-8", buffering=1)

    @events.request.add_listener
    def record_write(request_type, name, response, exception, **_kwargs):
        kind = WRITE_KINDS.get(name)
        if kind is None or exception is not None or response is None or response.status_code != 201:
            return
        body = response.json()
        writes.write(json.dumps({"kind": kind, "id": body["id"], "course_id": body.get("course_id")}) + "\n")

    # Closed on `quit`, after every user has stopped: on `quitting` a request still finishing could
    # count in the statistics and find the file closed.
    @events.quit.add_listener
    def close_writes(**_kwargs):
        writes.close()


if os.environ.get("LAB_PROFILE") == "capacity":

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


def percentile(sorted_times, share):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_times:
        return None
    return sorted_times[max(0, math.ceil(share * len(sorted_times)) - 1)]


class RateStep:
    """One rung of the ladder: its schedule and what was measured after its settle period."""

    def __init__(self, index, rate, started_at, settle_seconds, measure_seconds):
        self.index = index
        self.rate = rate
        self.started_at = started_at
        self.measured_from = started_at + settle_seconds
        self.ended_at = self.measured_from + measure_seconds
        self.slots = 0  # slots due in the measured window
        self.dropped = 0  # of those, slots that found every user busy
        self.times = []  # response times (ms) of requests that completed in the measured window
        self.failures = 0
        self.by_name = {}

    def measuring(self, now):
        return self.measured_from <= now < self.ended_at

    def summary(self, limits):
        seconds = self.ended_at - self.measured_from
        times = sorted(self.times)
        requests = len(times)
        achieved = requests / seconds
        error_ratio = self.failures / requests if requests else 0.0
        p99 = percentile(times, 0.99)
        held = (
            requests > 0
            and achieved >= limits["held_share"] * self.rate
            and p99 <= limits["p99_limit_ms"]
            and error_ratio < limits["error_limit"]
        )
        return {
            "step": self.index,
            "offered_rps": self.rate,
            "started_at": round(self.started_at, 3),
            "measured_from": round(self.measured_from, 3),
            "ended_at": round(self.ended_at, 3),
            "measured_s": round(seconds, 3),
            "slots": self.slots,
            "dropped": self.dropped,
            "requests": requests,
            "failures": self.failures,
            "achieved_rps": round(achieved, 2),
            "error_ratio": round(error_ratio, 5),
            "p50_ms": round(percentile(times, 0.5) or 0, 1),
            "p95_ms": round(percentile(times, 0.95) or 0, 1),
            "p99_ms": round(p99 or 0, 1),
            "max_ms": round(times[-1] if times else 0, 1),
            "held": held,
        }


class RateSchedule:
    """The rate profile's arrival schedule: a ladder of offered requests per second, each held for
    settle + measure seconds. A dispatcher releases one waiting user per 1/rate seconds; a slot that
    finds every user busy is dropped and counted rather than saved up, so the offered load never
    slows down with the server (no coordinated omission) and achieved < offered shows the overload.
    Users far outnumber what a held rate needs (LAB_USERS), so only an overloaded server exhausts them."""

    def __init__(self):
        self.rates = [float(rate) for rate in os.environ.get("LAB_RATES", "25,50,100").split(",") if rate]
        self.settle_seconds = float(os.environ.get("LAB_SETTLE_SECONDS", "5"))
        self.measure_seconds = float(os.environ.get("LAB_MEASURE_SECONDS", "30"))
        self.limits = {
            "p99_limit_ms": float(os.environ.get("LAB_P99_LIMIT_MS", "500")),
            "error_limit": float(os.environ.get("LAB_ERROR_LIMIT", "0.01")),
            "held_share": float(os.environ.get("LAB_HELD_SHARE", "0.95")),
        }
        self.steps_file = os.environ.get("LAB_STEPS_FILE")
        self.progress_file = os.environ.get("LAB_PROGRESS_FILE")
        self.waiting = deque()
        self.steps = []
        self.started_at = None
        self.stopped = False

    @property
    def step_seconds(self):
        return self.settle_seconds + self.measure_seconds

    def wait_for_slot(self):
        ready = gevent.event.Event()
        self.waiting.append(ready)
        ready.wait()

    def start(self):
        self.started_at = time.time()
        self.steps = [
            RateStep(index, rate, self.started_at + index * self.step_seconds, self.settle_seconds, self.measure_seconds)
            for index, rate in enumerate(self.rates)
        ]
        gevent.spawn(self.dispatch)

    def dispatch(self):
        for step in self.steps:
            count = int(round(step.rate * self.step_seconds))
            for slot in range(count):
                due = step.started_at + slot / step.rate
                delay = due - time.time()
                if delay > 0:
                    gevent.sleep(delay)
                if self.stopped:
                    return
                measured = step.measuring(due)
                if self.waiting:
                    self.waiting.popleft().set()
                elif measured:
                    step.dropped += 1
                if measured:
                    step.slots += 1

    def current(self, now):
        if self.started_at is None:
            return None
        index = int((now - self.started_at) // self.step_seconds)
        return self.steps[index] if 0 <= index < len(self.steps) else None

    def record(self, name, response_time, failed):
        now = time.time()
        step = self.current(now)
        if step is None or not step.measuring(now):
            return
        step.times.append(response_time)
        step.failures += failed
        entry = step.by_name.setdefault(name, [[], 0])
        entry[0].append(response_time)
        entry[1] += failed

    def finished_steps(self, now):
        return [step for step in self.steps if step.ended_at <= now]

    def write_progress(self, now):
        step = self.current(now)
        if not self.progress_file or step is None:
            return
        times = sorted(step.times)
        seconds = now - step.measured_from
        status = {
            "step": step.index + 1,
            "steps": len(self.steps),
            "offered_rps": step.rate,
            "measuring": step.measuring(now),
            "achieved_rps": round(len(times) / seconds, 1) if seconds > 1 and times else None,
            "p99_ms": percentile(times, 0.99),
            "failures": step.failures,
            "seconds_left_at_most": round(self.started_at + len(self.steps) * self.step_seconds - now),
        }
        with open(self.progress_file + ".tmp", "w", encoding="utf-8") as handle:
            json.dump(status, handle)
        os.replace(self.progress_file + ".tmp", self.progress_file)

    def write_steps(self, until):
        """Every step that ended by `until`, judged: the runner's analysis reads these files."""
        if not self.steps_file:
            return
        rows = [step.summary(self.limits) for step in self.finished_steps(until)]
        columns = list(RateStep(0, 1, 0, 0, 1).summary(self.limits).keys())
        with open(self.steps_file, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        with open(self.steps_file.replace(".csv", "_endpoints.csv"), "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["step", "offered_rps", "name", "requests", "failures", "p50_ms", "p99_ms"])
            for step in self.finished_steps(until):
                for name, (times, failures) in sorted(step.by_name.items()):
                    times = sorted(times)
                    writer.writerow(
                        [step.index, step.rate, name, len(times), failures, percentile(times, 0.5), percentile(times, 0.99)]
                    )


if RATED:
    import gevent.event

    RATE = RateSchedule()

    @events.request.add_listener
    def record_rate_step(name, response_time, exception, **_kwargs):
        RATE.record(name, response_time, 1 if exception is not None else 0)

    @events.quit.add_listener
    def write_rate_steps(**_kwargs):
        RATE.write_steps(RATE.stopped_at if RATE.stopped else time.time())

    class RateShape(LoadTestShape):
        """Spawns LAB_USERS users, which wait for slots; once all are up the ladder starts. After each
        step the shape judges it as the runner does and stops the run at the first step not held
        (achieved < LAB_HELD_SHARE of offered, p99 over LAB_P99_LIMIT_MS or errors at LAB_ERROR_LIMIT),
        or after the last rate."""

        users = int(os.environ.get("LAB_USERS", "1000"))
        spawn_rate = float(os.environ.get("LAB_SPAWN_RATE", "200"))
        judged = 0

        def tick(self):
            now = time.time()
            if RATE.started_at is None:
                if self.runner.user_count >= self.users:
                    RATE.start()
                return self.users, self.spawn_rate
            finished = RATE.finished_steps(now)
            for step in finished[self.judged :]:
                self.judged += 1
                if not step.summary(RATE.limits)["held"]:
                    return self.stop(step.ended_at)
            if len(finished) == len(RATE.steps):
                return self.stop(RATE.steps[-1].ended_at)
            RATE.write_progress(now)
            return self.users, self.spawn_rate

        def stop(self, at):
            RATE.stopped, RATE.stopped_at = True, at
            return None
