"""A pool of supervised workers: a batch of calls split over several ``csvdsl.worker.Worker``
processes, so scoring a reward call's completions uses more than one core.

Each worker is a ``Worker`` of its own (its own child, its own deadline, killed and replaced
on an overrun as a single worker is), started on first use; each item goes to the worker
``assign`` places it on, and each worker receives its share in one request, all at once (a
thread here waits on each). Caches live in the children, so ``assign`` keeps the items of one
key (the completions of one prompt) on one worker, and places the same batch the same way
every time. Every worker loads the tables it is sent: memory grows with the workers."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from csvdsl.worker import Worker

MAX_WORKERS = 4  # the default's cap (see default_workers)
MIN_SHARE = 4  # items each worker of a batch gets at least: a small batch starts no extra worker
WORKERS_VARIABLE = "CSVDSL_REWARD_WORKERS"


def default_workers() -> int:
    """``CSVDSL_REWARD_WORKERS`` when set, else the cores this process may use, at most 4: the
    parent waits while the workers score, so each core can score, but each worker holds its
    own copy of the tables and their variants, and beyond a few workers a batch's prompts (8
    to 16 groups in a usual GRPO step) no longer split evenly."""
    configured = os.environ.get(WORKERS_VARIABLE, "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(f"{WORKERS_VARIABLE}={configured!r}: the number of reward workers, a whole number from 1")
        return int(configured)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def assign(keys: list, workers: int, least: int = MIN_SHARE) -> list[int]:
    """The worker (0 to ``workers`` - 1) of each item, from the items' keys alone, so the same
    batch is always placed the same way. Items of one key stay together (a key larger than a
    worker's fair share is cut into even runs); the groups go, largest first, each to the least
    loaded worker. A batch uses at most one worker per ``least`` items (at least one), the
    lowest-numbered ones."""
    used = max(1, min(workers, len(keys) // least))
    if used == 1:
        return [0] * len(keys)
    share = -(-len(keys) // used)
    groups: dict = {}
    for position, key in enumerate(keys):
        groups.setdefault(key, []).append(position)
    units = []
    for positions in groups.values():
        pieces = -(-len(positions) // share)
        size = -(-len(positions) // pieces)
        units += [positions[start:start + size] for start in range(0, len(positions), size)]
    units.sort(key=lambda unit: (-len(unit), unit[0]))
    loads, places = [0] * used, [0] * len(keys)
    for unit in units:
        worker = loads.index(min(loads))
        loads[worker] += len(unit)
        for position in unit:
            places[position] = worker
    return places


class WorkerPool:
    """Up to ``size`` supervised workers, each started on first use."""

    def __init__(self, size: int):
        self.size = max(1, int(size))
        self.workers: list[Worker | None] = [None] * self.size
        self._threads: ThreadPoolExecutor | None = None

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
            if self._threads is None:
                self._threads = ThreadPoolExecutor(self.size, thread_name_prefix="csvdsl-pool")
            futures = [self._threads.submit(worker.map, function, [items[i] for i in indexes], timeout)
                       for worker, indexes in jobs]
            outputs = [future.result() for future in futures]
        results: list = [None] * len(items)
        for (_, indexes), output in zip(jobs, outputs):
            for index, result in zip(indexes, output):
                results[index] = result
        return results

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
