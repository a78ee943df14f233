"""The closed-model scenarios (steady and capacity profiles): students (70 %), searchers (20 %) and
teachers (10 %) who sign in, think between tasks and follow flows of several requests.

Requests are named by route template so each endpoint is one row in the statistics.
"""

import json
import os
import random
import uuid
from urllib.parse import quote, urlsplit

from locust import FastHttpUser, between, task


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

# The run's input, read when a run starts (not at import, so `locust --help` works without it).
INPUT = {}


def read_input(path, need_tokens):
    """LAB_INPUT_FILE's content, checked: every key the load uses is there."""
    if not path:
        raise SystemExit("LAB_INPUT_FILE is not set: run Locust with `bun run locust` or `bun run experiment`, which write it")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    for key in ("password", "students", "teachers", "vocabulary") + (("tokens",) if need_tokens else ()):
        if not data.get(key):
            raise SystemExit(f"{path}: '{key}' is missing or empty")
    return data


class Outcome:
    """A request's result: ok with the JSON body for an expected status; not ok for a tolerated one or a failure."""

    def __init__(self, ok, body):
        self.ok = ok
        self.body = body


def call(user, method, url, name, expect=(200,), tolerate=(), token=None, **kwargs):
    """One request through catch_response: statuses in `expect` and `tolerate` pass, anything else is a failure."""
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


def items_of(body):
    """A paged answer ({items: [...]}) or a plain list."""
    return body["items"] if isinstance(body, dict) else body


def new_course_body():
    """A teacher's new course, from common words only: a rare word in it would be found on the first
    index page by the next rare search, which would then stop early, so the rare search would get
    cheaper as the run goes on and no two steps would measure the same workload."""
    words = random.sample(INPUT["vocabulary"]["common"], 2)
    return {
        "title": " ".join(words).capitalize(),
        "description": f"A course on {', '.join(words)}, written during a load test.",
        "level": random.choice(LEVELS),
        "price_cents": random.choice([0, 0, 1900, 4900, 9900]),
        "duration_hours": random.randint(1, 40),
    }


def search_term():
    kind = "common" if random.random() < COMMON_TERM_SHARE else "rare"
    return kind, random.choice(INPUT["vocabulary"][kind])


class LabUser(FastHttpUser):
    abstract = True
    # FastHttpUser needs a host; every request below names its service's absolute URL (services_on).
    host = SERVICE_URLS["course"]
    wait_time = between(0.5, 1.5)
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


class SearchUser(LabUser):
    weight = 20

    @task
    def search(self):
        kind, term = search_term()
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
        self.email = random.choice(INPUT["teachers"])
        self.login(self.email)

    @task(1)
    def create_course(self):
        if self.token is None and not self.login(self.email):
            return
        outcome = call(
            self, "POST", f"{self.course}/courses", "/courses (create)", expect=(201,), token=self.token,
            json=new_course_body(),
        )
        if outcome.ok:
            self.created.append(outcome.body)

    @task(3)
    def view_own_course(self):
        if self.created:
            self.open_course(random.choice(self.created))
        else:
            self.browse_catalog()
