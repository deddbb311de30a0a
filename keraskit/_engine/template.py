"""Templates: one Keras model per architecture, computing with any set of weights.

A grid search fits hundreds of networks of a few shapes. Building and tracing a fresh Keras
model per fit costs hundreds of milliseconds and leaves graphs behind, so keraskit keeps,
per architecture spec, one *template* whose variables are loaded with each fit's weights.
Prediction is stateless (``Model.stateless_call``): the fitted estimator's weights are passed
in, so predicting never touches the template and never retraces. ``initial_weights`` draws
a fit's starting weights as scikit-learn does.
"""

from __future__ import annotations

import threading

import numpy as np
import scipy.sparse as sp

from .._config import before_tensorflow
from .._networks.builders import build, split_autoencoder
from .._networks.specs import CODE_LAYER, OUTPUT_LAYER
from .._tensorflow import keras, tf
from .data import chunk_rows, dense_chunks
from .distribute import offset_seeds, strategy_scope
from .fastpath import numpy_forward

# importing TensorFlow does not start its runtime; the first operation does, and a worker's
# thread share must be in place before that
before_tensorflow()


def compiled(fn, input_signature):
    """``fn`` traced once, against ``input_signature``, and called at a graph call's cost.

    keraskit compiles one function per architecture (bounded by ``CACHE_SIZE``), so a grid
    search over layer sizes traces the same Python code for each new shape; TensorFlow's
    "N out of the last M calls triggered tf.function retracing" warning, meant for
    functions re-created in a loop by mistake, would fire on every such search.

    The engine's functions are written for the graph (explicit ``tf.while_loop``, no
    Python ``if`` on tensors) and traced without autograph: autograph converts a function's
    source on its first trace, which cost a first fit about a second (measured: a first
    ``(16,)`` fit of 5 epochs took 1.47 s with autograph, 0.45 s without). Keras layers
    need none: they branch with ``keras.ops.cond``.

    Returns
    -------
    CompiledFunction
        Called with arguments matching ``input_signature`` (arrays or tensors).
    """
    function = tf.function(fn, input_signature=input_signature, autograph=False)
    function._omit_frequent_tracing_warning = True  # our own object; see the docstring
    return CompiledFunction(function, input_signature)


class CompiledFunction:
    """A ``tf.function`` with a fixed signature, called through its one concrete function.

    Calling a ``tf.function`` binds the arguments to its signature, looks the trace up and
    casts the inputs on every call: about 0.3 ms, measured, where running a small graph
    costs 0.05 ms, and a small fit makes a dozen calls. With the signature fixed there is
    only one trace, so the arguments are converted to tensors of the signature's dtypes and
    handed to it flat. TensorFlow's own call path is the fallback if its flat call is ever
    missing.

    Parameters
    ----------
    function : tf.types.experimental.PolymorphicFunction
        The traced function.
    input_signature : list
        Its (possibly nested) ``tf.TensorSpec`` signature.
    """

    def __init__(self, function, input_signature):
        self.function = function
        self.dtypes = [spec.dtype for spec in tf.nest.flatten(input_signature)]
        self._nested = any(isinstance(spec, (list, tuple)) for spec in input_signature)
        self._concrete = None
        self._lock = threading.Lock()

    def concrete(self):
        """The one concrete function (traced on first use, once even under threads)."""
        if self._concrete is None:
            with self._lock:
                if self._concrete is None:
                    self._concrete = self.function.get_concrete_function()
        return self._concrete

    def __call__(self, *args):
        concrete = self.concrete()
        flat = tf.nest.flatten(args) if self._nested else args
        tensors = [
            a if isinstance(a, tf.Tensor) else tf.convert_to_tensor(a, dtype)
            for a, dtype in zip(flat, self.dtypes, strict=True)
        ]
        call_flat = getattr(concrete, "_call_flat", None)
        if call_flat is None:  # pragma: no cover - a TensorFlow without the flat call
            return self.function(*args)
        return call_flat(tensors, concrete.captured_inputs)


class VariableGroup:
    """Read and write many variables in one compiled call each (one flat tensor per dtype).

    Reading or assigning a variable from Python costs about 0.1 ms; a network with batch
    normalization and an Adam optimizer has dozens, read and written on every fit.

    Parameters
    ----------
    variables : list of keras.Variable
        The variables, in the order of the arrays given to :meth:`load`.
    """

    def __init__(self, variables):
        self.variables = list(variables)
        self.shapes = [tuple(v.shape) for v in self.variables]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.dtypes = [tf.as_dtype(v.dtype) for v in self.variables]
        kinds = list(dict.fromkeys(self.dtypes))
        self.groups = [[i for i, d in enumerate(self.dtypes) if d == k] for k in kinds]
        specs = [tf.TensorSpec((None,), k) for k in kinds]
        self._load = compiled(self._load_impl, input_signature=specs)
        self._read = compiled(self._read_impl, input_signature=[])

    def _load_impl(self, *flats):
        for flat, members in zip(flats, self.groups, strict=True):
            offset = 0
            for i in members:
                size = self.sizes[i]
                self.variables[i].assign(tf.reshape(flat[offset : offset + size], self.shapes[i]))
                offset += size
        return tf.constant(0)

    def _read_impl(self):
        return [
            tf.concat([tf.reshape(self.variables[i], [-1]) for i in members], axis=0)
            for members in self.groups
        ]

    def load(self, arrays):
        """Assign ``arrays`` (one per variable, in order) to the variables."""
        if not self.variables:
            return
        for i, a in enumerate(arrays):
            if np.shape(a) != self.shapes[i]:
                raise ValueError(
                    f"weight {i} has shape {np.shape(a)}, the variable {self.shapes[i]}"
                )
        flats = [
            np.concatenate(
                [np.ravel(np.asarray(arrays[i], dtype=self.dtypes[i].as_numpy_dtype)) for i in m]
            )
            for m in self.groups
        ]
        self._load(*flats)

    def read(self):
        """The variables' values as new numpy arrays, in order."""
        return self.unpack(self._read() if self.variables else [])

    def unpack(self, flats):
        """Arrays, in variable order, from the flat tensors of :meth:`_read_impl`."""
        out = [None] * len(self.variables)
        for flat, members in zip(flats, self.groups, strict=True):
            flat, offset = flat.numpy(), 0
            for i in members:
                out[i] = flat[offset : offset + self.sizes[i]].reshape(self.shapes[i]).copy()
                offset += self.sizes[i]
        return out


class Template:
    """One Keras model per architecture signature, with compiled inference.

    Parameters
    ----------
    spec : MLPSpec, CNNSpec, AutoencoderSpec or ConvAutoencoderSpec
        The architecture signature.
    strategy : tf.distribute.Strategy, default=None
        Create the variables under this strategy (mirrored on every device) for
        distributed training; ``None`` keeps them on TensorFlow's default device.
    """

    def __init__(self, spec, strategy=None):
        self.spec = spec
        self.strategy = strategy
        with strategy_scope(strategy):
            self.model = build(spec)
        self.logits_model = keras.Model(self.model.input, self.model.get_layer(OUTPUT_LAYER).input)
        self.dtype = tf.as_dtype(spec.dtype)
        self.lock = threading.RLock()
        self.trainable = list(self.model.trainable_variables)
        self.non_trainable = list(self.model.non_trainable_variables)
        self.penalized = [v for v in self.trainable if v.path.endswith("kernel")]
        index = {id(v): i for i, v in enumerate(self.trainable)}
        self.dense_pairs = [
            (index[id(layer.kernel)], index[id(layer.bias)])
            for layer in self.model.layers
            if isinstance(layer, keras.layers.Dense)
        ]
        self.parts = {"model": self.model}
        self.activity_l1 = float(getattr(spec, "activity_l1", 0.0))
        if CODE_LAYER in [layer.name for layer in self.model.layers]:
            self.parts["encoder"], self.parts["decoder"] = split_autoencoder(self.model)
            if self.activity_l1 > 0:  # the loss needs the code of the same forward pass
                code = self.model.get_layer(CODE_LAYER).output
                self.logits_model = keras.Model(
                    self.model.input, [self.logits_model.outputs[0], code]
                )
        self._part_fns = {name: self._compile_part(sub) for name, sub in self.parts.items()}
        self._numpy = {
            name: numpy_forward(sub, self.trainable, self.non_trainable)
            for name, sub in self.parts.items()
        }
        self._variables = VariableGroup(self.trainable + self.non_trainable)
        seeds = [v for v in self.non_trainable if v.path.endswith("seed_generator_state")]
        self._spread_seeds = None
        if strategy is not None and seeds:

            def spread():
                def on_replica():
                    return offset_seeds(seeds)

                return strategy.run(on_replica)

            self._spread_seeds = compiled(spread, [])

    def _compile_part(self, sub):
        """Stateless, compiled inference of a (sub)model sharing the template's variables."""
        indexes = []
        for full, part in (
            (self.trainable, sub.trainable_variables),
            (self.non_trainable, sub.non_trainable_variables),
        ):
            where = {id(v): i for i, v in enumerate(full)}
            indexes.append([where[id(v)] for v in part])
        specs = [
            [tf.TensorSpec(tuple(v.shape), v.dtype) for v in variables]
            for variables in (sub.trainable_variables, sub.non_trainable_variables)
        ]
        x_spec = tf.TensorSpec(sub.inputs[0].shape, self.dtype)

        def run(trainable, non_trainable, X):
            return sub.stateless_call(trainable, non_trainable, X, training=False)[0]

        return (*indexes, compiled(run, input_signature=[*specs, x_spec]))

    def predict(self, weights, tensors, X, part="model"):
        """Outputs of the network with the given weights (no template state touched).

        Small inputs to dense networks run in NumPy (see ``fastpath``), the rest through
        the compiled TensorFlow function.

        Parameters
        ----------
        weights : tuple of (list of ndarray, list of ndarray)
            Trainable and non-trainable weights, in the template's variable order.
        tensors : callable
            Returns the same weights as tensors (cached by the caller); called only when
            TensorFlow runs.
        X : ndarray or scipy sparse matrix
            Input rows, already validated; sparse rows are densified a chunk at a time.
        part : {'model', 'encoder', 'decoder'}, default='model'
            Which (sub)model to run; autoencoders have an encoder and a decoder.

        Returns
        -------
        outputs : ndarray of shape (n_samples, n_outputs)
        """
        if sp.issparse(X):
            X = X.tocsr()
        forward = self._numpy[part]
        if forward is not None and forward.worth_it(X.shape[0]):
            X = X.toarray() if sp.issparse(X) else X
            return forward(weights, np.asarray(X, dtype=self.dtype.as_numpy_dtype))
        t_idx, nt_idx, fn = self._part_fns[part]
        weights = tensors()
        trainable = [weights[0][i] for i in t_idx]
        non_trainable = [weights[1][i] for i in nt_idx]
        rows = chunk_rows(X)
        parts = [
            fn(trainable, non_trainable, chunk).numpy()
            for _, chunk in dense_chunks(X, rows, self.dtype.as_numpy_dtype)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def get_weights(self, flats=None):
        """Template variables as numpy copies: ``(trainable, non_trainable)``.

        Parameters
        ----------
        flats : list of tf.Tensor, default=None
            Values read in a compiled function (see ``read_flat``); ``None`` reads now.

        Returns
        -------
        weights : tuple of (list of ndarray, list of ndarray)
        """
        values = self._variables.read() if flats is None else self._variables.unpack(flats)
        n = len(self.trainable)
        return values[:n], values[n:]

    def read_flat(self):
        """Inside a compiled function: the variables' values as flat tensors, one per dtype."""
        return self._variables._read_impl()

    def set_weights(self, weights):
        """Load ``(trainable, non_trainable)`` numpy weights into the template variables."""
        self.check_weights(weights)
        trainable, non_trainable = weights
        self._variables.load(list(trainable) + list(non_trainable))
        self.spread_seeds()

    def as_variables(self, weights):
        """Copies of ``(trainable, non_trainable)`` weights in the variables' dtypes."""
        dtypes = [d.as_numpy_dtype for d in self._variables.dtypes]
        n = len(self.trainable)
        trainable, non_trainable = weights
        return (
            [np.array(a, dtype=d) for a, d in zip(trainable, dtypes[:n], strict=True)],
            [np.array(a, dtype=d) for a, d in zip(non_trainable, dtypes[n:], strict=True)],
        )

    def check_weights(self, weights):
        """Raise ``ValueError`` unless ``(trainable, non_trainable)`` fit the variables."""
        trainable, non_trainable = weights
        if len(trainable) != len(self.trainable) or len(non_trainable) != len(self.non_trainable):
            raise ValueError("weights do not match the template's variables")

    def spread_seeds(self):
        """After loading weights under a strategy: give each replica its own dropout seeds."""
        if self._spread_seeds is not None:
            self._spread_seeds()


def initial_weights(template, rng, factor):
    """Fresh weights for a template, drawn from ``rng`` as scikit-learn draws them.

    Kernels and biases of each layer, in layer order, come from
    ``uniform(-b, b)`` with ``b = sqrt(factor / (fan_in + fan_out))`` (sklearn's MLP
    initialisation: ``factor`` is 6, or 2 for logistic activations), so that the same
    ``random_state`` starts from the same weights as ``sklearn.neural_network``. Batch
    normalization starts at the identity; dropout seeds are drawn last.

    Parameters
    ----------
    template : Template
        The architecture whose variables are initialised.
    rng : numpy.random.RandomState
        Source of randomness (advanced in place).
    factor : float
        Scale of the uniform initialisation.

    Returns
    -------
    weights : tuple of (list of ndarray, list of ndarray)
        Trainable and non-trainable weights in the template's variable order.
    """
    values = {}
    for layer in template.model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is not None:
            shape = tuple(kernel.shape)
            receptive = int(np.prod(shape[:-2]))
            bound = np.sqrt(factor / (receptive * (shape[-2] + shape[-1])))
            values[id(kernel)] = rng.uniform(-bound, bound, shape)
            bias = getattr(layer, "bias", None)
            if bias is not None:
                values[id(bias)] = rng.uniform(-bound, bound, tuple(bias.shape))
        for name, fill in (("gamma", 1), ("beta", 0), ("moving_mean", 0), ("moving_variance", 1)):
            v = getattr(layer, name, None)
            if v is not None:
                values[id(v)] = np.full(tuple(v.shape), fill)
    for v in template.non_trainable:
        if id(v) not in values and v.path.endswith("seed_generator_state"):
            values[id(v)] = np.array([rng.randint(2**31 - 1), 0])
    weights = []
    for variables in (template.trainable, template.non_trainable):
        missing = [v.path for v in variables if id(v) not in values]
        if missing:
            raise RuntimeError(f"keraskit does not know how to initialise {missing}")
        weights.append([np.asarray(values[id(v)], dtype=v.dtype) for v in variables])
    return tuple(weights)
