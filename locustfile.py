"""Coursework Lab load: the entry point Locust is given (`locust -f locustfile.py`); the load itself is
the `load` package beside it.

Runs on Debian's python3-locust 2.12 and on current Locust. `bun run experiment` (headless) and
`bun run locust` (the web UI) start it with:
  IDENTITY_URL, COURSE_URL, ENROLLMENT_URL, PAYMENT_URL, NOTIFICATION_URL  base URL of each service
      (the contract's ports 8001-8005 when unset); a Host given to Locust moves them all to that
      machine, each on its own port (load/scenarios.py's services_on)
  LAB_INPUT_FILE   JSON exported by the runner from the seeded database and scripts/seed/vocabulary.ts:
      {"password": ..., "students": [emails], "teachers": [verified teachers' emails],
       "vocabulary": {"common": [words], "rare": [words]}}
  LAB_WRITES_FILE  optional: every enrollment and payment answered 201 is appended here as a JSON line
  (no LAB_PROFILE)  students (70 %), searchers (20 %) and teachers (10 %) who sign in and think
      (load/scenarios.py), for -u/-r/-t
  LAB_PROFILE=capacity  the same users in steps (load/shapes.py's CapacityShape: LAB_STEP_USERS,
      LAB_STEP_SECONDS, LAB_MAX_USERS, LAB_SPAWN_RATE, LAB_P99_LIMIT_MS, LAB_ERROR_LIMIT)
  LAB_PROFILE=rate  an open load: a ladder of offered requests per second (load/schedule.py: LAB_RATES,
      LAB_SETTLE_SECONDS, LAB_MEASURE_SECONDS; load/shapes.py's RateShape: LAB_USERS, LAB_SPAWN_RATE),
      each slot one action of load/standard_mix.py's table, users signed in beforehand (the input
      file's "tokens"); each step judged by load/judge.py (LAB_P99_LIMIT_MS, LAB_ERROR_LIMIT,
      LAB_HELD_SHARE, LAB_DROPPED_LIMIT, LAB_MIN_P99_SAMPLES, LAB_GENERATOR_CORES,
      LAB_GENERATOR_LAG_MS) and written with its verdict to LAB_STEPS_FILE; progress to LAB_PROGRESS_FILE
"""

import os

from locust import events

from load import scenarios
from load.recorders import WriteRecorder, rewrite_final_csv

PROFILE = os.environ.get("LAB_PROFILE")


@events.init.add_listener
def load_input(**_kwargs):
    scenarios.INPUT.update(scenarios.read_input(os.environ.get("LAB_INPUT_FILE"), need_tokens=PROFILE == "rate"))


events.quit.add_listener(rewrite_final_csv)

if os.environ.get("LAB_WRITES_FILE"):
    writes = WriteRecorder(os.environ["LAB_WRITES_FILE"])
    events.request.add_listener(writes.on_request)
    # Closed on `quit`, after every user has stopped: on `quitting` a request still finishing could
    # count in the statistics and find the file closed.
    events.quit.add_listener(writes.close)

if PROFILE == "rate":
    import time

    from load.schedule import RateSchedule
    from load.shapes import RateShape
    from load.standard_mix import STANDARD_MIX, MixUser

    RATE = RateSchedule.from_env(STANDARD_MIX)
    MixUser.schedule = RATE
    RateShape.schedule = RATE
    RateShape.progress_file = os.environ.get("LAB_PROGRESS_FILE")

    @events.request.add_listener
    def record_rate_step(name, response_time, exception, context=None, **_kwargs):
        RATE.record(name, response_time, (context or {}).get("due"), 1 if exception is not None else 0)

    @events.quit.add_listener
    def write_rate_steps(**_kwargs):
        if os.environ.get("LAB_STEPS_FILE"):
            RATE.write_steps(os.environ["LAB_STEPS_FILE"], RATE.stopped_at if RATE.stopped else time.time())

else:
    # Locust runs the user classes and the shape it finds in this module's namespace.
    from load.scenarios import SearchUser, StudentUser, TeacherUser  # noqa: F401

    if PROFILE == "capacity":
        from load.shapes import CapacityShape  # noqa: F401
