"""An import in a process of its own, for the kill and concurrency tests (not a test module).

    python tests/ingest/worker.py URL FILE WAVE [PAUSED_MARKER GO_FILE]

With a marker and a go-file, the import pauses inside its write phase (the
first progress call past the read phase: some administrations are written,
uncommitted) after writing to PAUSED_MARKER the number of administrations its
transaction sees, until GO_FILE exists. With ``TRACKER_TEST_BULK_LOAD=1`` in the environment,
every import takes PostgreSQL's bulk path (keys and indexes set aside while
it writes). Prints the
result as JSON and exits 0, or prints ``Error: ...`` and exits 1 for a
:class:`~tracker.errors.TrackerError`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    url, data, wave = argv[:3]
    paused = Path(argv[3]) if len(argv) > 3 else None
    go = Path(argv[4]) if len(argv) > 4 else None

    from tracker.db.engine import open_session
    from tracker.errors import TrackerError
    from tracker.ingest import import_responses, writer

    if os.environ.get("TRACKER_TEST_BULK_LOAD") == "1":
        writer.BULK_MIN_VALUES = 1

    def progress(done: int, total: int) -> None:
        # reading ends at done == total / 2; anything beyond is the write phase
        if paused is not None and done > total // 2 and not paused.exists():
            from sqlalchemy import func, select

            from tracker.db.models import Administration

            # what this uncommitted transaction holds, for the test to check
            held = session.scalar(select(func.count()).select_from(Administration))
            staging = paused.with_suffix(".tmp")
            staging.write_text(str(held))
            staging.rename(paused)  # atomic: the test never reads half a number
            while go is None or not go.exists():
                time.sleep(0.02)

    session = open_session(url)
    try:
        result = import_responses(session, None, data, wave=wave, progress=progress)
        session.commit()
    except TrackerError as exc:
        session.rollback()
        print(f"Error: {exc}")
        return 1
    finally:
        session.close()
    print(json.dumps({"batch_id": result.batch_id, "new": result.administrations_new}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
