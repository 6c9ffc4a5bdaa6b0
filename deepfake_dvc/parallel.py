"""A map over videos in forked worker processes, with a progress bar and the workers' messages."""
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


def parallel_map(func, items, workers, desc, writes_to=()):
    """func over items in order, in `workers` forked processes, with a progress bar.

    Workers inherit the parent's state (a detector built before the call); an
    exception in one is raised again in the parent. Their messages are printed
    by the parent, above its progress bar. When the map is interrupted, the
    workers are killed and the temporaries they were writing into the folders
    writes_to are removed.
    """
    items = list(items)
    workers = min(worker_count(workers), max(len(items), 1))
    bar = dict(total=len(items), desc=desc, unit="video", file=sys.stderr,
               disable=not showing_progress())
    log.debug(f"{desc}: {len(items)} item(s) in {workers} process(es)")
    if workers == 1:
        return [func(item) for item in tqdm(items, **bar)]
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
