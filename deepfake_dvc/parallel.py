"""A map over videos by a registered executor (forked worker processes by default, or the
tasks of a Ray cluster), with a progress bar and the workers' messages."""
import dataclasses
import hashlib
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import socket
import sys

from tqdm import tqdm

from deepfake_dvc.errors import ConfigError
from deepfake_dvc.files import remove_temporaries, write_bytes_atomic
from deepfake_dvc.log import install_console, log, showing_progress


def worker_count(workers):
    """The workers parameter as a process count: 0 means all cores."""
    return workers or os.cpu_count() or 1


def _log_through(queue):
    """Pool initializer: the worker's messages go to the parent, which prints them."""
    log.handlers = [logging.handlers.QueueHandler(queue)]


@dataclasses.dataclass
class Files:
    """What a worker returns for one item when it has files to write: its value, and the
    files' bytes by path, which the map's process writes (parallel_map)."""
    value: object
    files: dict


def parallel_map(func, items, workers, desc, writes_to=(), executor="local", setup=None):
    """func over items in order, by a registered executor (EXECUTORS), with a progress bar.

    func returns a value, or Files(value, {path: bytes}): those files this process
    writes, each whole under a temporary name, as its item comes back, so a worker
    killed mid-item, or on another machine, leaves nothing half-written. setup,
    (function, args), prepares a worker's state (a detector): called here before
    the map by the executors that fork (their workers inherit it), once in each
    worker process by the others. The default executor, "local", forks `workers`
    processes (with one worker, or one item, it runs in this process); an
    exception in one is raised again in the parent; their messages are printed
    by the parent, above its progress bar. "ray" runs each item as a task of the
    Ray cluster RAY_ADDRESS names (a local instance of `workers` CPUs without
    it). When the map is interrupted, the workers are killed and the temporaries
    of the functions that write files themselves into the folders writes_to
    (make_demo's videos) are removed.
    """
    items = list(items)
    workers = min(worker_count(workers), max(len(items), 1))
    log.debug(f"{desc}: {len(items)} item(s) in {workers} process(es) ({executor})")
    if workers == 1 and executor == "local":
        executor = "serial"
    results = [None] * len(items)
    arriving = EXECUTORS[executor](func, items, workers, setup)
    try:
        for index, output in tqdm(arriving, total=len(items), desc=desc, unit="video",
                                  file=sys.stderr, disable=not showing_progress()):
            results[index] = received(output)
        return results
    except BaseException:
        arriving.close()  # the executor kills its workers
        for folder in writes_to:
            remove_temporaries(folder)
        raise


def received(output):
    """A worker's output as its value, its Files written first."""
    if not isinstance(output, Files):
        return output
    for path, data in output.files.items():
        write_bytes_atomic(path, data)
    return output.value


_prepared = set()  # the setups this process has run


def prepared(setup, key=None):
    """Run setup, (function, args), unless it is None or this process already has (key: its
    setup_key, when known)."""
    if setup is None:
        return
    key = key or setup_key(setup)
    if key not in _prepared:
        function, args = setup
        function(*args)
        _prepared.add(key)


def setup_key(setup):
    """What tells one setup from another: the digest of its pickle."""
    return hashlib.sha256(pickle.dumps(setup)).hexdigest()


def in_this_process(func, items, workers, setup):
    """The executor for one worker: func over items here, in order."""
    prepared(setup)
    for index, item in enumerate(items):
        yield index, func(item)


def in_forked_processes(func, items, workers, setup):
    """The executor of `workers` forked processes (see parallel_map)."""
    prepared(setup)
    fork = multiprocessing.get_context("fork")
    messages = fork.Queue()
    listener = logging.handlers.QueueListener(messages, *log.handlers)
    listener.start()
    pool = fork.Pool(workers, initializer=_log_through, initargs=(messages,))
    try:
        yield from enumerate(pool.imap(func, items))
        pool.close()  # idle workers exit on their own; terminate() could kill one holding a lock
        pool.join()
        listener.stop()  # prints what the workers said last
    except BaseException:  # GeneratorExit too: parallel_map closed us
        pool.terminate()  # kills and joins the workers; a killed one may hold the queue's lock,
        raise  # so the listener (a daemon thread) is left to end with us


def on_ray(func, items, workers, setup):
    """The executor of a Ray cluster (see parallel_map): each item a task, retried when its
    worker dies, its output taken as soon as it is done (any order)."""
    ray = connected_ray(workers)
    task = ray.remote(max_retries=3, num_cpus=1)(prepared_call)
    shared = ray.put((setup_key(setup), setup))  # stored once, not sent with every task
    index_of = {task.remote(func, item, shared): i for i, item in enumerate(items)}
    try:
        while index_of:
            [done], _ = ray.wait(list(index_of), num_returns=1)
            yield index_of.pop(done), ray.get(done)
    finally:
        for ref in index_of:
            ray.cancel(ref, force=True)


def prepared_call(func, item, shared):
    """func(item) in a Ray worker, after the setup in shared, (setup_key, setup), once per
    worker process, and with the library's messages on the worker's stderr, which Ray passes
    on to the driver."""
    install_console()
    key, setup = shared
    prepared(setup, key)
    return func(item)


def connected_ray(workers):
    """The ray module, connected to the cluster RAY_ADDRESS names, or to a local instance of
    `workers` CPUs; ConfigError naming the address when it cannot be reached."""
    try:
        import ray
    except ImportError:
        raise ConfigError("executor: ray needs Ray: pip install ray (or pip install "
                          "'deepfake-dvc[ray]'), or set executor: local") from None
    if ray.is_initialized():
        return ray
    address = os.environ.get("RAY_ADDRESS")
    path = os.pathsep.join(filter(None, (os.getcwd(), os.environ.get("PYTHONPATH"))))
    if address:  # the cluster's workers are told where the code is
        options = dict(address=address, runtime_env=dict(env_vars=dict(PYTHONPATH=path)))
    else:
        local_workers_environment(path)
        options = dict(num_cpus=workers)
    try:
        if address and address != "auto":
            answering(address)
        ray.init(**options, include_dashboard=False, log_to_driver=True,
                 logging_level=logging.WARNING)
    except (ConnectionError, OSError, ValueError) as e:
        raise ConfigError(f"RAY_ADDRESS '{address}' cannot be reached ({e}): start the cluster "
                          f"(ray start --head), fix the address, or set executor: local"
                          ) from None
    return ray


def local_workers_environment(path):
    """What a local Ray instance's workers inherit from this process: where the code is (by
    a runtime_env, Ray would start workers of their own for it while the first tasks wait)
    and the priority of local's workers (Ray's default, nice 15, starves them beside any
    other busy process; RAY_worker_niceness set by the user is kept)."""
    os.environ["PYTHONPATH"] = path
    os.environ.setdefault("RAY_worker_niceness", "0")


def answering(address, seconds=10):
    """Raise OSError unless host:port (or ray://host:port) accepts a connection within
    seconds: ray.init would wait for an unreachable cluster without end."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    socket.create_connection((host, int(port)), timeout=seconds).close()


# name: executor(func, items, workers, setup) -> a generator of (item's index, func's output) as
# they come back, in any order. Another executor is one more entry: it must prepare its
# workers with setup, and kill them when the iterator is closed before its end.
EXECUTORS = {"serial": in_this_process, "local": in_forked_processes, "ray": on_ray}
