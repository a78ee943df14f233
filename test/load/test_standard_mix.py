"""The rate profile's table (load/standard_mix.py): each action is exactly one request, named as the
action, whatever the state it finds; its shares are the standard profile's."""

import random
from collections import deque

import pytest

from load import scenarios, standard_mix
from load.standard_mix import COURSES, PAYMENTS, STANDARD_MIX


class Response:
    def __init__(self, status, body):
        self.status_code, self.body, self.text = status, body, ""

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False

    def json(self):
        return self.body

    def success(self):
        pass

    def failure(self, message):
        raise AssertionError(message)


class Client:
    """Answers every request as the services would, and remembers its name and context."""

    def __init__(self):
        self.sent = []

    def request(self, method, url, name, context=None, **_kwargs):
        self.sent.append((name, context))
        if name == "/courses (create)":
            return Response(201, course(len(self.sent) + 100, 4900))
        if method == "POST":
            return Response(201, {"id": len(self.sent), "course_id": 1})
        if name in ("/courses", "/courses?q=:common", "/courses?q=:rare"):
            return Response(200, {"items": [course(1, 0), course(2, 1900)], "has_more": False})
        return Response(200, {"items": []})


def course(id, price):
    return {"id": id, "price_cents": price, "title": f"Course {id}"}


class User:
    def __init__(self):
        self.client = Client()
        self.identity = self.course = self.enrollment = self.payment = self.notification = "http://lab"
        self.student, self.student_token = "student@example.com", "s-token"
        self.teacher, self.teacher_token = "teacher@example.com", "t-token"


@pytest.fixture(autouse=True)
def fresh_state():
    COURSES.courses.clear()
    PAYMENTS.clear()
    scenarios.INPUT.update({"vocabulary": {"common": ["data", "web"], "rare": ["kintsugi"]}})
    yield
    COURSES.courses.clear()
    PAYMENTS.clear()


def test_each_action_sends_one_request_named_as_the_action_passing_the_slot_s_context_on():
    user = User()
    standard_mix.catalog(user, {"due": 0.0})  # courses seen, as after a run's first slots
    for _ in range(3):  # with and without a payment waiting, a created course seen
        for action in STANDARD_MIX.actions:
            user.client.sent.clear()
            action.run(user, {"due": 1.5})
            assert user.client.sent == [(action.name, {"due": 1.5})]


def test_an_enrollment_uses_a_payment_the_student_made():
    user = User()
    COURSES.add([course(2, 1900)])
    by_name = {action.name: action for action in STANDARD_MIX.actions}
    by_name["/payments"].run(user, {})
    assert [paid[0]["id"] for paid in PAYMENTS[user.student]] == [2]
    by_name["/enrollments"].run(user, {})
    assert PAYMENTS[user.student] == deque()


def test_before_any_course_is_seen_an_action_on_one_reads_the_catalog():
    user = User()
    random.seed(1)
    for action in STANDARD_MIX.actions:
        COURSES.courses.clear()
        user.client.sent.clear()
        action.run(user, {})
        assert len(user.client.sent) == 1


def test_the_shares_are_the_standard_profile_s():
    shares = STANDARD_MIX.shares()
    assert STANDARD_MIX.total == 1000
    assert shares["/courses/:id"] == 0.282
    assert shares["/courses?q=:rare"] == 0.056
    assert "/login" not in shares


def test_a_new_course_holds_no_rare_word_so_the_rare_search_costs_the_same_all_run():
    scenarios.INPUT.update({"vocabulary": {"common": ["data", "web", "python", "design"], "rare": ["kintsugi"]}})
    for _ in range(50):
        body = scenarios.new_course_body()
        text = f"{body['title']} {body['description']}".lower()
        assert "kintsugi" not in text
        assert sum(word in text for word in ("data", "web", "python", "design")) >= 2
