"""Running the tasks: local spawned processes (retried once when a worker dies) or any
executor with ``submit`` (a Dask client), with at most a given number in flight."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from synktrack.batch.plan import is_done
from synktrack.batch.tasks import MAX_ATTEMPTS, ClipOutcome, ClipTask, Submitter, failed_outcome
from synktrack.batch.worker import THREAD_VARS, run_clip, worker_init
from synktrack.errors import InputError


def execute(tasks: list[ClipTask], executor: Submitter | None, jobs: int,
             report: Callable[[ClipOutcome], None]) -> None:
    """Run every task on the executor (or on local spawned processes), reporting outcomes."""
    if executor is not None:
        for task in _drain(executor, tasks, len(tasks), report):
            report(_worker_died(task))
        return
    attempts: Counter[str] = Counter()
    remaining = tasks
    with _single_thread_env():
        while remaining:
            pool = cf.ProcessPoolExecutor(max_workers=max(1, min(jobs, len(remaining))),
                                          mp_context=get_context("spawn"),
                                          initializer=worker_init,
                                          initargs=(os.getpid(),))
            clean = False
            try:
                broken = _drain(pool, remaining, jobs, report)
                clean = True
            finally:
                _shutdown(pool, clean)
                if not clean:  # workers killed mid-write leave temporary files behind
                    _sweep(remaining)
            remaining = []
            for task in broken:
                attempts[task.clip_id] += 1
                if attempts[task.clip_id] >= MAX_ATTEMPTS:
                    report(_worker_died(task))
                else:
                    remaining.append(task)


def _drain(executor: Submitter, tasks: list[ClipTask], limit: int,
           report: Callable[[ClipOutcome], None]) -> list[ClipTask]:
    """Keep at most ``limit`` tasks in flight; return those lost with a broken process pool."""
    queue, broken = deque(tasks), []
    running: dict[Any, ClipTask] = {}
    client = _is_dask_client(executor)
    try:
        while queue or running:
            while queue and len(running) < limit:
                task = queue.popleft()
                try:
                    fut = (executor.submit(run_clip, task, pure=False,
                                           key=f"synktrack-{task.clip_id}-{time.time_ns()}")
                           if client else executor.submit(run_clip, task))
                except BrokenProcessPool:
                    broken += [task, *queue]
                    queue.clear()
                    break
                running[fut] = task
            if not running:
                break
            for fut in _first_completed(list(running)):
                task = running.pop(fut)
                outcome = _outcome(fut, task)
                if outcome is None:
                    broken.append(task)
                else:
                    report(outcome)
    except BaseException:
        for fut in running:
            fut.cancel()
        raise
    return broken


def _worker_died(task: ClipTask) -> ClipOutcome:
    err = BrokenProcessPool("the worker process analysing it died (crash or out of memory)")
    return failed_outcome(task.clip_path, task.path, err, task.clip_id, "worker")


def _outcome(fut: Any, task: ClipTask) -> ClipOutcome | None:
    try:
        outcome = fut.result()
    except BrokenProcessPool:
        return None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # worker lost, cancelled, unpicklable...: this clip fails
        return failed_outcome(task.clip_path, task.path, err, task.clip_id, "worker")
    assert isinstance(outcome, ClipOutcome)
    return outcome


def _first_completed(futures: list[Any]) -> set[Any]:
    if type(futures[0]).__module__.startswith("distributed"):
        from distributed import wait

        done, _ = wait(futures, return_when="FIRST_COMPLETED")
    else:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
    return set(done)


def _is_dask_client(executor: object) -> bool:
    return type(executor).__module__.startswith("distributed") and hasattr(executor, "gather")


def _shutdown(pool: cf.ProcessPoolExecutor, clean: bool) -> None:
    """Join the workers, or stop them at once after Ctrl-C or an error."""
    if clean:
        pool.shutdown(wait=True)
        return
    procs = list((getattr(pool, "_processes", None) or {}).values())  # ours, to stop them
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(timeout=10)


def _sweep(tasks: list[ClipTask]) -> None:
    """Remove temporary files from the folders of clips that are not done."""
    for task in tasks:
        if not is_done(task):
            for tmp in Path(task.out_dir).glob(".*.tmp"):
                with contextlib.suppress(OSError):
                    tmp.unlink()


@contextlib.contextmanager
def _single_thread_env() -> Iterator[None]:
    """Spawned workers inherit one-thread limits for BLAS/OpenMP from the environment."""
    old = {v: os.environ.get(v) for v in THREAD_VARS}
    os.environ.update({v: "1" for v in THREAD_VARS})
    try:
        yield
    finally:
        for v, val in old.items():
            if val is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = val


def dask_client(address: str, timeout_s: float = 20.0) -> Any:
    """A :class:`distributed.Client` for a running scheduler, with one-line errors."""
    try:
        from distributed import Client
    except ImportError as err:
        raise InputError("a Dask scheduler needs Dask: pip install 'synktrack[dask]'") from err
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(f"cannot reach the Dask scheduler at {address} ({err}); check the "
                         "address and that `dask scheduler` is running") from err

