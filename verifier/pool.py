"""A pool of supervised workers: a batch of calls split over several ``csvdsl.worker.Worker``
processes, so scoring a reward call's completions uses more than one core.

Each worker is a ``Worker`` of its own (its own child, its own deadline, killed and replaced
on an overrun as a single worker is), started on first use. Caches live in the children, so
a batch goes in runs (``units``) that keep the items of one key (the completions of one
prompt) together; the first call for a batch hands the runs out to whichever worker is free
(a thread here waits on each), and later calls for it send each worker its items of the first
call in one request. Every worker loads the tables it is sent: memory grows with the workers."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from csvdsl.worker import Worker

MAX_WORKERS = 4  # the default's cap (see default_workers)
MIN_SHARE = 4  # items each worker of a batch gets at least: a small batch starts no extra worker
WORKERS_VARIABLE = "CSVDSL_REWARD_WORKERS"
PLACEMENTS = 64  # batches whose placement is kept for their later reward calls


def default_workers() -> int:
    """``CSVDSL_REWARD_WORKERS`` when set, else the cores this process may use, at most 4: the
    parent waits while the workers score, so each core can score, but each worker holds its
    own copy of the tables and their variants, and beyond a few workers a batch's prompts (8
    to 16 groups in a usual GRPO step) no longer split evenly."""
    configured = os.environ.get(WORKERS_VARIABLE, "").strip()
    if configured:
        if not (configured.isascii() and configured.isdigit()) or int(configured) < 1:
            raise ValueError(f"{WORKERS_VARIABLE}={configured!r}: the number of reward workers, a whole number from 1")
        return int(configured)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def units(keys: list, workers: int, least: int = MIN_SHARE) -> tuple[list[list[int]], int]:
    """The runs of items (positions) a batch is sent in, largest first, and how many workers it
    uses: one per ``least`` items at most (at least one). The items of one key stay together; a
    key with more items than a worker's fair share is cut into even runs."""
    used = max(1, min(workers, len(keys) // least))
    if used == 1:
        return ([list(range(len(keys)))] if keys else []), 1
    share = -(-len(keys) // used)
    groups: dict = {}
    for position, key in enumerate(keys):
        groups.setdefault(key, []).append(position)
    runs = []
    for positions in groups.values():
        pieces = -(-len(positions) // share)
        size = -(-len(positions) // pieces)
        runs += [positions[start:start + size] for start in range(0, len(positions), size)]
    return sorted(runs, key=lambda run: (-len(run), run[0])), min(used, len(runs))


class WorkerPool:
    """Up to ``size`` supervised workers, each started on first use; use from one thread at a
    time (as a Worker)."""

    def __init__(self, size: int):
        self.size = max(1, int(size))
        self.workers: list[Worker | None] = [None] * self.size
        self._threads: ThreadPoolExecutor | None = None
        self.placed: OrderedDict = OrderedDict()  # batch -> each item's worker, from its first call

    def worker(self, place: int) -> Worker:
        if self.workers[place] is None:
            self.workers[place] = Worker()
        return self.workers[place]

    def started(self) -> list[Worker]:
        return [worker for worker in self.workers if worker is not None]

    def map(self, function, items: list[tuple], places: list[int], timeout: float | None = None) -> list:
        """``Worker.map`` of each worker's items (``places[i]`` is item i's worker), the
        workers at once; the results in the items' order, each item's error in its place."""
        shares: dict[int, list[int]] = {}
        for index, place in enumerate(places):
            shares.setdefault(place % self.size, []).append(index)
        jobs = [(self.worker(place), indexes) for place, indexes in shares.items()]
        if len(jobs) <= 1:  # no thread needed
            outputs = [worker.map(function, items, timeout=timeout) for worker, _ in jobs]
        else:
            outputs = self._wait([self._executor().submit(worker.map, function, [items[i] for i in indexes], timeout)
                                  for worker, indexes in jobs])
        results: list = [None] * len(items)
        for (_, indexes), output in zip(jobs, outputs):
            for index, result in zip(indexes, output):
                results[index] = result
        return results

    def map_batch(self, function, items: list[tuple], keys: list, batch, timeout: float | None = None) -> list:
        """As ``map``, each item placed by the batch (``batch`` names it: the same name must mean
        the same items; ``keys`` are its items' groups). The first call for a batch hands its
        runs (``units``) out, largest first, to whichever worker is free, so a costly prompt
        does not hold the others back behind it; later calls for the same batch (the other
        rewards) send each item where it went, where its runs are cached."""
        places = self.placed.get(batch)
        if places is not None and len(places) == len(items):
            self.placed.move_to_end(batch)
            return self.map(function, items, places, timeout)
        runs, used = units(keys, self.size)
        places, results = [0] * len(items), [None] * len(items)
        if used > 1:
            # Worker i starts with the i-th largest run (the same batch on idle workers is
            # placed alike), then takes whichever run is left when it is free.
            queue, lock = deque(runs[used:]), threading.Lock()

            def drain(place: int, run: list[int]) -> None:
                worker = self.worker(place)
                while run:
                    for position, result in zip(run, worker.map(function, [items[i] for i in run], timeout=timeout)):
                        places[position], results[position] = place, result
                    with lock:
                        run = queue.popleft() if queue and not worker.interrupted else None

            self._wait([self._executor().submit(drain, place, runs[place]) for place in range(used)])
        elif runs:
            results = self.map(function, items, places, timeout)
        self.placed[batch] = places
        while len(self.placed) > PLACEMENTS:
            self.placed.popitem(last=False)
        return results

    def _wait(self, futures: list) -> list:
        """The futures' results. On Ctrl-C here, or an error in one of them, every worker is
        interrupted (its child killed, nothing more sent), so no thread goes on scoring after
        the call has failed; the first error is raised once all have stopped."""
        try:
            # Woken every 0.2 s: Linux may hand a Ctrl-C to a pool thread, and Python runs its
            # handler only when the main thread next runs, which a plain wait would put off
            # until every worker had finished.
            while True:
                done, pending = wait(futures, timeout=0.2, return_when=FIRST_EXCEPTION)
                if not pending or any(future.exception() is not None for future in done):
                    break
            return [future.result() for future in futures]
        except BaseException:
            for worker in self.started():
                worker.interrupt()
            wait(futures)
            raise
        finally:
            for worker in self.started():
                worker.interrupted = False

    def _executor(self) -> ThreadPoolExecutor:
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="csvdsl-pool")
        return self._threads

    def call_running(self, function, *args) -> list:
        """``function(*args)`` in every worker whose child is up, at once (a child that is not
        up starts afresh when next used): each one's result or error."""
        places = [place for place, worker in enumerate(self.workers) if worker is not None and worker.running]
        return self.map(function, [args] * len(places), places)

    def close(self) -> None:
        for worker in self.started():
            worker.close()
        self.workers = [None] * self.size
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None
