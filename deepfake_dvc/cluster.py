"""Training on several hosts (TF_CONFIG, TensorFlow's convention): the strategy that spans them,
which process writes (the chief), and the chief's resumed state given to the others."""
import contextlib

from deepfake_dvc.errors import ConfigError, MachineError
from deepfake_dvc.tensorflow_import import import_tensorflow

tf = import_tensorflow()

started = None  # the cluster's strategy, once start() ran


def on_cluster(strategy):
    """Whether strategy spans several processes (MultiWorkerMirroredStrategy)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


class ClusterStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy with the reduce that Keras 3's fit needs from it
    (keras-team/keras#20585): a structure reduced value by value, and the mean of a scalar
    over axis 0 (fit's logs, the same on every replica) taken over the replicas."""

    def reduce(self, reduce_op, value, axis):
        def one(v):
            local = self.experimental_local_results(v)[0] \
                if isinstance(v, tf.distribute.DistributedValues) else v
            scalar = tf.convert_to_tensor(local).shape.rank == 0
            return super(ClusterStrategy, self).reduce(reduce_op, v, None if scalar else axis)
        return tf.nest.map_structure(one, value)


def start():
    """Start this process as a worker of the cluster TF_CONFIG names (before TensorFlow finds
    its devices: import_tensorflow(cluster=True)); ConfigError saying what is wrong with it."""
    global started
    try:
        started = ClusterStrategy()
    except (ValueError, KeyError, TypeError) as e:  # json.JSONDecodeError is a ValueError
        raise ConfigError(f"TF_CONFIG cannot start this worker ({e}): see docs/training.md, "
                          f"training on several hosts") from None


@contextlib.contextmanager
def peers_watched(strategy):
    """On a cluster, a worker that stops (killed, its host lost) is one MachineError line on
    the others, saying how to go on."""
    try:
        yield
    except (tf.errors.UnavailableError, tf.errors.CancelledError,
            tf.errors.DeadlineExceededError) as e:
        if not on_cluster(strategy):
            raise
        reason = next((line.strip() for line in str(e.message).splitlines()
                       if "task" in line), type(e).__name__)
        raise MachineError(f"train: a worker of the cluster stopped ({reason}); start every "
                           f"worker again: they go on from the chief's checkpoint") from None


def is_chief(strategy):
    """Whether this process writes train's outputs: the only one, or its cluster's chief (the
    task named chief, else worker 0, as TensorFlow has it)."""
    if not on_cluster(strategy):
        return True
    resolver = strategy.cluster_resolver
    if "chief" in resolver.cluster_spec().jobs:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


def resumed(strategy, build, checkpoint):
    """(model, epochs done, their history): build()'s model under strategy, resumed from
    checkpoint (None on a cluster's workers other than the chief).

    On a cluster the chief loads its checkpoint into a model of its own (loading
    into the shared one would need the others to take part), and every worker's
    model and optimizer are then given that model's values.
    """
    with strategy.scope():
        model = build()
    if not on_cluster(strategy):
        with strategy.scope():
            checkpoint.set_model(model)
            return model, checkpoint.resume(), checkpoint.history
    done, history, own = 0, {}, model  # the workers but the chief: the chief's values
    if checkpoint is not None:  # the chief
        own = build()
        checkpoint.set_model(own)
        done, history = checkpoint.resume(), checkpoint.history
    _assign(model_variables(model), _from_replica_0(strategy, model_variables(own)))
    return model, done, history


def chiefs_numbers(strategy, numbers):
    """The chief's numbers (whole numbers: the epochs to run) on every worker of a cluster;
    elsewhere, numbers as they are."""
    if not on_cluster(strategy):
        return numbers
    [agreed] = _sum_of_replica_0(strategy, [tf.constant(numbers, tf.int64)])
    return strategy.experimental_local_results(agreed)[0].numpy().tolist()


def model_variables(model):
    """A model's variables and its optimizer's, in an order every worker shares."""
    return [*model.variables, *model.optimizer.variables]


def _from_replica_0(strategy, variables):
    """The values of variables on replica 0 (the chief's first device), in this process; each
    dtype kind in one collective (whole numbers as int64)."""
    kinds = [v.dtype.startswith("float") for v in variables]
    floats = _sum_of_replica_0(strategy, [v.value for v, f in zip(variables, kinds) if f])
    others = _sum_of_replica_0(strategy, [tf.cast(v.value, tf.int64)
                                          for v, f in zip(variables, kinds) if not f])
    floats, others = iter(floats), iter(others)
    return [strategy.experimental_local_results(next(floats if f else others))[0]
            for f in kinds]


def _assign(variables, values):
    """Set each variable to its value, cast to its dtype."""
    for variable, value in zip(variables, values):
        variable.assign(tf.cast(value, variable.dtype))


@tf.function
def _sum_of_replica_0(strategy, values):
    """values (of one dtype) as replica 0 (the chief's first device) has them, on every
    replica."""
    def replica(values):
        context = tf.distribute.get_replica_context()
        first = context.replica_id_in_sync_group == 0
        return context.all_reduce("sum", [tf.where(first, v, tf.zeros_like(v)) for v in values])
    return strategy.run(replica, args=(values,))
