"""A map over videos by a registered executor (forked worker processes by default), with a
progress bar and the workers' messages."""
import logging
import logging.handlers
import multiprocessing
import os
import sys

from tqdm import tqdm

from deepfake_dvc.files import remove_temporaries
from deepfake_dvc.log import log, showing_progress


def worker_count(workers):
    """The workers parameter as a process count: 0 means all cores."""
    return workers or os.cpu_count() or 1


def _log_through(queue):
    """Pool initializer: the worker's messages go to the parent, which prints them."""
    log.handlers = [logging.handlers.QueueHandler(queue)]


def parallel_map(func, items, workers, desc, writes_to=(), executor="processes"):
    """func over items in order, by a registered executor (EXECUTORS), with a progress bar.

    With one worker, or one item, it runs in this process. The default executor,
    "processes", forks `workers` processes: they inherit the parent's state (a
    detector built before the call); an exception in one is raised again in the
    parent; their messages are printed by the parent, above its progress bar.
    When the map is interrupted, the workers are killed and the temporaries they
    were writing into the folders writes_to are removed.
    """
    items = list(items)
    workers = min(worker_count(workers), max(len(items), 1))
    bar = dict(total=len(items), desc=desc, unit="video", file=sys.stderr,
               disable=not showing_progress())
    log.debug(f"{desc}: {len(items)} item(s) in {workers} process(es) ({executor})")
    if workers == 1:
        executor = "serial"
    return EXECUTORS[executor](func, items, workers, bar, writes_to)


def in_this_process(func, items, workers, bar, writes_to):
    """The executor for one worker: func over items here, in order."""
    return [func(item) for item in tqdm(items, **bar)]


def in_forked_processes(func, items, workers, bar, writes_to):
    """The executor of `workers` forked processes (see parallel_map)."""
    fork = multiprocessing.get_context("fork")
    messages = fork.Queue()
    listener = logging.handlers.QueueListener(messages, *log.handlers)
    listener.start()
    pool = fork.Pool(workers, initializer=_log_through, initargs=(messages,))
    try:
        results = list(tqdm(pool.imap(func, items), **bar))
        pool.close()  # idle workers exit on their own; terminate() could kill one holding a lock
        pool.join()
        listener.stop()  # prints what the workers said last
        return results
    except BaseException:
        pool.terminate()  # kills and joins the workers; a killed one may hold the queue's lock,
        for folder in writes_to:  # so the listener (a daemon thread) is left to end with us
            remove_temporaries(folder)
        raise


# name: executor(func, items, workers, bar (tqdm's arguments), writes_to) -> results in order.
# Another executor (a cluster's) is one more entry: it must return func's results in the
# items' order, update the bar, and remove what it left in writes_to when interrupted.
EXECUTORS = {"serial": in_this_process, "processes": in_forked_processes}
