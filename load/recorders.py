"""What the load writes besides Locust's statistics: acknowledged writes, and Locust's CSV files whole."""

import csv
import gc
import json

from locust.stats import StatsCSVFileWriter

# Issue 10's no-lost-writes check: every write the services acknowledged, one JSON line each.
WRITE_KINDS = {"/enrollments": "enrollment", "/payments": "payment"}


class WriteRecorder:
    """Appends every enrollment and payment answered 201 to `path` as a JSON line."""

    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8", buffering=1)

    def on_request(self, name, response, exception, **_kwargs):
        kind = WRITE_KINDS.get(name)
        if kind is None or exception is not None or response is None or response.status_code != 201:
            return
        body = response.json()
        self.file.write(json.dumps({"kind": kind, "id": body["id"], "course_id": body.get("course_id")}) + "\n")

    def close(self, **_kwargs):
        self.file.close()


def rewrite_final_csv(**_kwargs):
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
