"""The report's reliability table computed in a worker process, on the worker's own connection.

At 10,000 participants the keyed items are the largest read of the report (1.7
million item rows) and feed only the reliability table, while the first worker
process has nothing to do until the mediation bootstrap starts. So on a large
study read on a direct connection (:func:`tracker.db.reader.open_reader`) the
report hands that worker the database URL: it opens a connection of its own,
reads the items and computes the table while this process reads the scores and
runs the other analyses.

The worker's snapshot must hold the same data as this process's. Both read the
audit trail's change mark first (:func:`tracker.db.provenance.change_mark`):
every change the tracker makes writes an audit event in its own transaction, so
equal marks mean that nothing was committed between the two snapshots. When the
marks differ, the worker fails or the study is small, the table is computed here
from items read in this process's snapshot, as before. The rows are the same
either way; a test holds them equal.
"""

from __future__ import annotations

#: administrations from which reading the items in a worker pays: below, the worker's
#: imports (pandas, scipy) take longer than reading and analysing them here
OFFLOAD_ADMINISTRATIONS = 20_000


def reliability_rows(url: str, study, scope, mark: tuple[int, int]):
    """The report's reliability ``(rows, error)``, read on a new direct connection; None if not.

    Runs in a worker process. None when the connection cannot be opened directly,
    when its snapshot's change mark is not ``mark``, or on any error: the caller then
    computes the table itself.
    """
    from tracker.db import provenance
    from tracker.db.reader import open_reader

    reader = open_reader(url)
    if reader is None:
        return None
    try:
        if provenance.change_mark(reader) != mark:
            return None
        return _computed(reader, study, scope)[:2]
    except Exception:  # the caller computes it, and says what went wrong if it fails there too
        return None
    finally:
        reader.close()


def _computed(reader, study, scope):
    """``(rows, error, keyed items)``: the reliability table of ``study`` within ``scope``, from its items."""
    from tracker.datasets import analyses, load_study_data
    from tracker.reports.context.common import _run
    from tracker.reports.context.scope import apply_scope

    data = apply_scope(
        load_study_data(reader, study, score_waves=[], administrations=False, score_counts=False),
        scope,
    )
    rows, error = _run(analyses.reliability, data)
    return rows, error, data.keyed_items


class Reliability:
    """The report's reliability table: started in a worker, collected (or computed here) later.

    :meth:`start` sends the job when it pays; :meth:`collect` gives ``(rows, error,
    keyed_items)``, where ``keyed_items`` is None when the worker computed the table
    (this process then never reads the items) and the scoped keyed items otherwise.
    """

    def __init__(self, reader, study, scope, pending=None):
        self._reader, self._study, self._scope, self._pending = reader, study, scope, pending

    @classmethod
    def start(cls, reader, study, scope, workers) -> Reliability | None:
        """Send the table to worker 0 if the study is large and read directly; None if it is not sent."""
        from tracker.db import provenance, read_store

        if workers is None or workers.size == 0 or getattr(reader, "url", None) is None:
            return None
        if read_store.administration_count(reader, study.id, None) < OFFLOAD_ADMINISTRATIONS:
            return None
        mark = provenance.change_mark(reader)
        pending = workers.submit(reliability_rows, reader.url, study, scope, mark, worker=0)
        return cls(reader, study, scope, pending)

    def collect(self):
        """``(rows, error, keyed_items)``: the worker's table, else the table computed here."""
        outcome = None
        try:
            outcome = self._pending.result()
        except Exception:
            outcome = None
        if outcome is not None and outcome[1] is None:
            return outcome[0], None, None
        # a changed database, a failed worker or an error: here, in this process's snapshot
        return _computed(self._reader, self._study, self._scope)
