"""The rate profile's mix: the standard profile's requests as a weighted table, one request per action.

The weights are the shares of each request in the standard profile's closed-model runs (per 1,000
requests, logins left out: the rate profile's users are signed in before the ladder), so the open
load offers the same mix at every rate. Where a closed user's flow carried state from one request to
the next (a course it saw, a payment it made), the actions share it through COURSES and PAYMENTS.
"""

import random
import uuid
from collections import deque
from urllib.parse import quote

from locust import constant, task

from .mix import Action, Mix
from .scenarios import CATALOG_PAGES, INPUT, PAGE_SIZE, LabUser, call, new_course_body, search_term


class CourseMemory:
    """The courses the load has seen lately (catalog pages, search results, created courses)."""

    def __init__(self, size=200):
        self.courses = deque(maxlen=size)

    def add(self, courses):
        self.courses.extend(courses)

    def pick(self, wanted=lambda course: True):
        candidates = [course for course in self.courses if wanted(course)]
        return random.choice(candidates) if candidates else None


COURSES = CourseMemory()
# Payments made and not yet used to enroll, per student.
PAYMENTS = {}


def catalog(user, context):
    offset = random.choice(CATALOG_PAGES) * PAGE_SIZE
    outcome = call(user, "GET", f"{user.course}/courses?limit={PAGE_SIZE}&offset={offset}", "/courses", context=context)
    if outcome.ok:
        COURSES.add(outcome.body["items"])


def on_a_course(request, wanted=lambda course: True):
    """An action on a course seen before; until one is (the first slots of a run), a catalog page."""

    def run(user, context):
        course = COURSES.pick(wanted)
        if course is None:
            return catalog(user, context)
        return request(user, context, course)

    return run


def open_course(user, context, course):
    call(user, "GET", f"{user.course}/courses/{course['id']}", "/courses/:id", context=context)


def enrollment_count(user, context, course):
    call(
        user, "GET", f"{user.enrollment}/enrollments/course/{course['id']}/count", "/enrollments/course/:id/count",
        context=context,
    )


def search(kind):
    def run(user, context):
        term = random.choice(INPUT["vocabulary"][kind])
        outcome = call(
            user, "GET", f"{user.course}/courses?q={quote(term)}&limit={PAGE_SIZE}&offset=0", f"/courses?q=:{kind}",
            context=context,
        )
        if outcome.ok:
            COURSES.add(outcome.body["items"])

    return run


def pay(user, context, course):
    outcome = call(
        user, "POST", f"{user.payment}/payments", "/payments", expect=(201,), token=user.student_token,
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={"course_id": course["id"], "amount_cents": course["price_cents"]}, context=context,
    )
    if outcome.ok:
        PAYMENTS.setdefault(user.student, deque(maxlen=20)).append((course, outcome.body["id"]))


def enroll(user, context):
    """With a payment this student made, or in a free course."""
    paid = PAYMENTS.get(user.student)
    if paid:
        course, payment_id = paid.popleft()
        body = {"course_id": course["id"], "payment_id": payment_id}
    else:
        course = COURSES.pick(lambda candidate: candidate["price_cents"] == 0)
        if course is None:
            return catalog(user, context)
        body = {"course_id": course["id"]}
    # 409: the seed (or another user sharing the student's token) may already have enrolled them.
    call(
        user, "POST", f"{user.enrollment}/enrollments", "/enrollments", expect=(201,), tolerate=(409,),
        token=user.student_token, json=body, context=context,
    )


def notify(user, context, course):
    call(
        user, "POST", f"{user.notification}/notifications", "/notifications", expect=(201,), token=user.student_token,
        json={"type": "enrollment", "message": f"You are enrolled in {course['title']}"}, context=context,
    )


def my_enrollments(user, context):
    call(user, "GET", f"{user.enrollment}/enrollments/me", "/enrollments/me", token=user.student_token, context=context)


def my_notifications(user, context):
    call(
        user, "GET", f"{user.notification}/notifications/me", "/notifications/me", token=user.student_token,
        context=context,
    )


def create_course(user, context):
    outcome = call(
        user, "POST", f"{user.course}/courses", "/courses (create)", expect=(201,), token=user.teacher_token,
        json=new_course_body(), context=context,
    )
    if outcome.ok:
        COURSES.add([outcome.body])


STANDARD_MIX = Mix(
    [
        Action("/courses/:id", 282, on_a_course(open_course)),
        Action("/courses", 170, catalog),
        Action("/enrollments/course/:id/count", 168, on_a_course(enrollment_count)),
        Action("/courses?q=:common", 131, search("common")),
        Action("/courses?q=:rare", 56, search("rare")),
        Action("/enrollments/me", 44, my_enrollments),
        Action("/notifications/me", 42, my_notifications),
        Action("/enrollments", 41, enroll),
        Action("/payments", 25, on_a_course(pay, lambda course: course["price_cents"] > 0)),
        Action("/notifications", 25, on_a_course(notify)),
        Action("/courses (create)", 16, create_course),
    ]
)


class MixUser(LabUser):
    """A rate-profile user: signed in before the ladder as a student and a teacher (the input file's
    tokens), it waits for a slot of `schedule` and runs the action that slot carries."""

    # The arrival schedule paces every request; the users do not think.
    wait_time = constant(0)
    schedule = None

    def on_start(self):
        super().on_start()
        self.student, self.student_token = random.choice(INPUT["tokens"]["students"])
        self.teacher, self.teacher_token = random.choice(INPUT["tokens"]["teachers"])

    @task
    def next_slot(self):
        slot = self.schedule.wait_for_slot()
        try:
            slot.action.run(self, {"due": slot.due})
        finally:
            self.schedule.done()
