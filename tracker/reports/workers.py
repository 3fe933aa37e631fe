"""Worker processes for the report: the reliability table, the mediation bootstrap and the charts.

:class:`ChartWorkers` starts two processes before the study is loaded. The last
imports matplotlib at once, at lower priority (its work is wanted last); the first
imports nothing it is not sent a job for. Both serve jobs until they are closed:

* ``submit(fn, **kwargs)``: any importable function of picklable arguments -- on a
  large study, the first worker reads the items and computes the reliability table
  on its own connection (:mod:`tracker.reports.offload`).
* ``run_bootstrap(jobs, boot=, seed=)``: the mediation bootstrap
  (:func:`tracker.resampling.bootstrap_groups`, numpy only), which takes as long as
  every other analysis together, in shares for both workers while this process runs
  the rest. The arguments are arrays, not a database connection, so the workers
  compute on exactly the rows this process loaded.
* ``draw_soon(ctx)``: the report's charts, in the worker that imported matplotlib,
  started as soon as their data is known.

A worker that fails or ends (or a machine with one core, where none are started)
falls back to this process: the results are the same either way. A function that
raises in a worker raises the same exception here. The report's mediation runs in
a thread of this process, so the handles are thread-safe.
"""

from __future__ import annotations

import os

from tracker.reports.charts import report_charts


def _worker(conn, charts: bool) -> None:
    """A worker process: with ``charts``, import matplotlib at once (while the parent loads); then serve jobs."""
    try:
        if charts and hasattr(os, "nice"):
            # its work (matplotlib's import, a share of the bootstrap, the charts) is wanted
            # last: under contention the main process and the other worker go first
            os.nice(10)
        if charts:
            import matplotlib.backends.backend_svg  # noqa: F401
            import matplotlib.figure  # noqa: F401

        while True:
            job = conn.recv()
            if (
                job is None
            ):  # done: end at once, without tearing the interpreter down (it takes a while)
                conn.close()
                os._exit(0)
            fn, args, kwargs = job
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # the caller's exception, raised again in the parent
                conn.send(("raised", exc))
            else:
                conn.send(("ok", result))
    except EOFError:  # the parent closed the pipe
        pass
    except BaseException as exc:  # the parent does the work itself
        try:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
        except (OSError, ValueError):
            pass
    finally:
        conn.close()


class _Pending:
    """A job sent to a worker (or, when no worker took it, to be run here).

    Thread-safe: the report's mediation thread and its main thread share the
    workers; the first to ask for a result collects it, the other waits for it.
    """

    def __init__(self, workers: ChartWorkers, index: int | None, fn, args, kwargs, timeout: float):
        import threading

        self._workers, self._index, self._timeout = workers, index, timeout
        self._call = (fn, args, kwargs)
        self._done, self._value, self._raised = False, None, None
        self._lock = threading.Lock()

    def result(self):
        """The function's value (raising what it raised), waiting for the worker if need be."""
        self._collect()
        if self._raised is not None:
            raise self._raised
        return self._value

    def _collect(self) -> None:
        with self._lock:
            if self._done:
                return
            status, payload = "error", "not sent"
            if self._index is not None:
                status, payload = self._workers._receive(self._index, self._timeout, self)
            if status == "ok":
                self._value = payload
            elif status == "raised":
                self._raised = payload
            else:  # no worker, or it failed: run it here
                fn, args, kwargs = self._call
                try:
                    self._value = fn(*args, **kwargs)
                except Exception as exc:
                    self._raised = exc
            self._done = True


class ChartWorkers:
    """Two processes that run the reliability table, the mediation bootstrap and the charts.

    Importing matplotlib and drawing take about as long as loading the study, and
    the mediation bootstrap about as long as the other analyses: on a machine with
    two or more cores, doing them in parallel shortens ``tracker demo`` and
    ``tracker report`` by several seconds. A worker that fails (or a machine with
    one core) falls back to this process: the results are the same either way.
    """

    def __init__(self, processes: int = 2):
        import multiprocessing
        import os
        import threading

        self.jobs: list = []
        self._locks: list = []  # one per worker: its pipe carries one job at a time
        self.closed = False
        self._used: set[int] = set()
        self._busy: dict[int, _Pending] = {}
        if processes < 1 or (os.cpu_count() or 1) < 2:
            return
        # spawn, not fork: the parent holds database connections and maybe threads
        mp = multiprocessing.get_context("spawn")
        for i in range(processes):
            try:
                here, there = mp.Pipe()
                process = mp.Process(
                    target=_worker,
                    args=(there, i == processes - 1),  # the last one draws
                    daemon=True,
                    name="tracker-report",
                )
                process.start()
                there.close()
                self.jobs.append((process, here))
                self._locks.append(threading.Lock())
            except OSError:
                break

    def _send(self, index: int, job, pending: _Pending | None = None) -> bool:
        if index >= len(self.jobs):
            return False
        while True:
            with self._locks[index]:
                earlier = self._busy.get(index)
                if earlier is None:
                    process, conn = self.jobs[index]
                    try:
                        conn.send(job)
                    except Exception:  # a closed pipe, or arguments that cannot be pickled
                        return False
                    self._used.add(process.pid)
                    if pending is not None:
                        self._busy[index] = pending
                    return True
            earlier._collect()  # one job at a time on a pipe: the earlier one's result first

    def _receive(self, index: int, timeout: float, pending: _Pending | None = None):
        if index >= len(self.jobs):
            return "error", "the workers were closed"
        with self._locks[index]:
            if pending is not None and self._busy.get(index) is not pending:
                return "error", "abandoned"  # closed while it ran: computed here
            _, conn = self.jobs[index]
            try:
                return conn.recv() if conn.poll(timeout) else ("error", "timed out")
            except (EOFError, OSError):
                return "error", "the worker process ended"
            except Exception as exc:  # a result that cannot be unpickled here
                return "error", f"{type(exc).__name__}: {exc}"
            finally:
                if pending is not None:
                    self._busy.pop(index, None)

    @property
    def size(self) -> int:
        """How many worker processes were started."""
        return len(self.jobs)

    def submit(self, fn, *args, worker: int = 0, timeout: float = 600.0, **kwargs) -> _Pending:
        """Run ``fn(*args, **kwargs)`` in worker ``worker`` (``fn`` importable, arguments picklable).

        Returns a handle whose ``result()`` gives the value; without that worker the
        function runs here when ``result()`` is called.
        """
        pending = _Pending(self, None, fn, args, kwargs, timeout)
        pending._index = worker  # before it is sent: the pipe may answer at once
        if not self._send(worker, (fn, args, kwargs), pending):
            pending._index = None
        return pending

    def run_bootstrap(self, jobs: list, *, boot: int, seed: int) -> list[list]:
        """:func:`tracker.resampling.bootstrap_groups` of ``jobs``, split over the workers.

        The mediation model's runner (its ``bootstrap`` argument): the values are
        those of ``bootstrap_groups(jobs, boot=boot, seed=seed)`` here, in order (a
        job's replicates do not depend on the jobs run with it). Jobs of as many cases
        go to the same worker, which draws their resamples once; the workers get about
        equal shares (:func:`_shares`), a busy one last. A share whose worker fails runs here.
        Raises RuntimeError once the workers are closed (the report gave up on it).
        """
        from tracker.resampling import bootstrap_groups

        # every worker gets a share; one still busy (computing the reliability table) is sent
        # its share last, to run when it is done
        order = sorted(range(self.size), key=lambda i: i in self._busy) or [0]
        shares = _shares(jobs, len(order))
        handles = [
            self.submit(
                bootstrap_groups, [jobs[j] for j in share], worker=worker, boot=boot, seed=seed
            )
            for worker, share in zip(order, shares, strict=False)
        ]
        out: list = [None] * len(jobs)
        for share, handle in zip(shares, handles, strict=True):
            if self.closed:
                raise RuntimeError("the report's workers were closed")
            for j, value in zip(share, handle.result(), strict=True):
                out[j] = value
        return out

    def draw_soon(self, ctx: dict) -> _Pending:
        """Start drawing every chart of the report in the worker that imported matplotlib.

        Sends only the context's :data:`~tracker.reports.charts.CHART_KEYS` (what the
        charts read, as they are now); ``result()`` gives the charts, drawn here if the
        worker fails.
        """
        from tracker.reports.charts import CHART_KEYS

        part = {key: ctx[key] for key in CHART_KEYS}
        return self.submit(report_charts, part, worker=max(self.size - 1, 0), timeout=300.0)

    def close(self) -> None:
        """End the workers: those that worked are told to stop; idle and busy ones are stopped at once.

        A job still running is abandoned; its ``result()``, if asked for, is computed here.
        """
        self.closed = True
        busy = set(self._busy)
        for pending in self._busy.values():
            pending._index = None
        self._busy = {}
        for i, (process, conn) in enumerate(
            self.jobs
        ):  # all told first, so that they end side by side
            if process.is_alive() and process.pid in self._used and i not in busy:
                try:
                    conn.send(None)
                    continue
                except (OSError, ValueError):
                    pass
            if process.is_alive():
                process.terminate()
        for process, conn in self.jobs:
            conn.close()
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
        self.jobs = []

    def __enter__(self) -> ChartWorkers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _shares(jobs: list, parts: int) -> list[list[int]]:
    """The jobs' positions in at most ``parts`` shares of about equal cost; jobs of one n together.

    A job ``(raw, models)`` costs its n draws once per n (jobs of as many cases share
    them) and n per model for the cross-products; the largest n-groups are dealt
    first, each to the share with the least cost so far.
    """
    by_n: dict[int, list[int]] = {}
    for j, (raw, _) in enumerate(jobs):
        by_n.setdefault(raw.shape[0], []).append(j)
    cost = {n: n * (1 + sum(len(jobs[j][1]) for j in members)) for n, members in by_n.items()}
    shares: list[list[int]] = [[] for _ in range(max(1, min(parts, len(by_n))))]
    load = [0] * len(shares)
    for n in sorted(by_n, key=lambda n: (-cost[n], n)):
        least = load.index(min(load))
        shares[least].extend(by_n[n])
        load[least] += cost[n]
    return [sorted(share) for share in shares]
