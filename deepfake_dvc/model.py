"""The detector (a registered backbone, the 2020 work's InceptionResNetV2 by default, with
its pixel preprocessing as layers), saved and loaded; its scores and their explanation.

Shared by train, evaluate and check, so all three feed the stored face crops the same way.
"""
import math
import zipfile

from deepfake_dvc.tensorflow_import import import_tensorflow

tf = import_tensorflow()  # before keras, which imports it too

import cv2  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from deepfake_dvc.backbones import BACKBONES, get_backbone  # noqa: E402
from deepfake_dvc.errors import ConfigError  # noqa: E402
from deepfake_dvc.files import atomic_path  # noqa: E402


@keras.saving.register_keras_serializable(package="deepfake_dvc")
class Resize(keras.layers.Layer):
    """Bilinear resizing to size x size, as tf.image.resize does. (Keras' own Resizing layer
    makes a SavedModel or TFLite export run the batch-norm layers after it in training mode.)"""

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        self.size = size

    def call(self, images):
        return keras.ops.image.resize(images, (self.size, self.size), interpolation="bilinear")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="deepfake_dvc")
class PatchGrid(keras.layers.Layer):
    """A vision transformer's tokens (batch, 1 + n*n, dim) as a feature map (batch, n, n, dim):
    the class token dropped, the patch tokens on their grid."""

    def call(self, tokens):
        side = math.isqrt(tokens.shape[1] - 1)
        return keras.ops.reshape(tokens[:, 1:, :], (-1, side, side, tokens.shape[-1]))

    def compute_output_shape(self, input_shape):
        side = math.isqrt(input_shape[1] - 1)
        return (input_shape[0], side, side, input_shape[-1])


def build_model(img_size, weights="none", dropout=0.0, bn_momentum=0.99,
                backbone="inception_resnet_v2", tune="all"):
    """The detector: RGB face crops of any size (pixels 0..255) -> P(real), P(fake).

    Its first layers resize the crops to img_size and normalise the pixels as the
    backbone wants, so every caller (train, evaluate, check, Grad-CAM, an export)
    feeds the stored crops as they are. Then the backbone, global average pooling,
    dropout and a 2-way softmax. weights: "none" (random), the backbone's pretrained
    weights ("imagenet", downloaded and cached by Keras; a keras-hub preset), or a
    path to a weights file for the backbone without its top. bn_momentum: the
    batch-norm layers' moving-average momentum (Keras' default is 0.99). tune: what
    training may change (set_tune).
    """
    spec = get_backbone(backbone)
    crops = keras.Input((None, None, 3), dtype="float32", name="crops")
    pixels = spec.normalisation()(Resize(img_size, name="resize", dtype="float32")(crops))
    try:
        features = spec.features(pixels, weights)
    except Exception as e:  # Keras raises many kinds, a bare Exception when a download fails
        if weights == "none" or isinstance(e, ConfigError):
            raise
        raise ConfigError(f"weights '{weights}' could not be loaded into backbone {backbone} "
                          f"({type(e).__name__}: {' '.join(str(e).split())[:200]}); without "
                          f"internet set weights: none in params.yaml, or give a weights "
                          f"file of this backbone") from None
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(features)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(2, activation="softmax", name="real_fake",
                             dtype="float32")(x)  # float32 under mixed precision too
    model = keras.Model(crops, out, name=f"{backbone}_deepfake")
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    set_tune(model, tune)
    return model


def set_tune(model, tune):
    """Freeze what training must not change: with tune "all" nothing (the 2020 recipe), with
    "head" all but the classifier (a linear probe; batch norms keep their statistics), with
    "layernorm" all but the layer norms and the classifier (GenD)."""
    if tune == "all":
        return
    kept = set()
    for layer in model._flatten_layers(include_self=False):
        if layer.name == "real_fake" or (tune == "layernorm" and isinstance(
                layer, keras.layers.LayerNormalization)):
            kept.update(id(v) for v in layer.weights)
        elif isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False  # frozen statistics too: it runs in inference mode
    for variable in model.weights:
        if id(variable) not in kept:
            variable.trainable = False


def parameter_counts(model):
    """(parameters, trainable parameters) of a model."""
    def count(variables):
        return int(sum(math.prod(v.shape) for v in variables))
    return count(model.weights), count(model.trainable_weights)


def fake_probabilities(model, crops, batch_size=32):
    """P(fake) for each uint8 face crop."""
    if len(crops) == 0:
        return np.zeros(0, np.float32)
    return model.predict(np.asarray(crops, np.float32), batch_size=batch_size, verbose=0)[:, 1]


def save_model(model, path):
    """Save the model for inference: weights without the optimizer's state (a third the size)."""
    inference = keras.Model(model.inputs, model.outputs, name=model.name)  # same layers, uncompiled
    with atomic_path(path) as tmp:
        inference.save(tmp)


def load_classifier(path):
    """The model train saved at path; ConfigError naming the file when it is not one."""
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"'{path}' is not a Keras model file (a .keras file is a zip archive; "
                          f"this one is truncated or of another format)")
    try:
        with zipfile.ZipFile(path) as archive:
            if b"keras_hub" in archive.read("config.json"):
                import_keras_hub()  # registers its layers for loading
        return keras.models.load_model(path)
    except ConfigError:
        raise
    except Exception as e:  # Keras raises many kinds (ValueError, KeyError, OSError, ...)
        raise ConfigError(f"'{path}' cannot be loaded as a Keras model "
                          f"({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None


def load_weights_of(model, path):
    """Start model from the weights of the trained model at path (init_model); ConfigError
    naming it when they do not fit."""
    try:
        model.set_weights(load_classifier(path).get_weights())
    except ValueError as e:
        raise ConfigError(f"init_model '{path}': its weights do not fit this model "
                          f"({' '.join(str(e).split())[:200]})") from None


def import_keras_hub():
    """The keras_hub module (CLIP's ViTs); ConfigError saying how to install it."""
    try:
        import keras_hub
    except ImportError:
        raise ConfigError("CLIP's vision transformers need keras-hub: pip install keras-hub "
                          "(or pip install 'deepfake-dvc[clip]')") from None
    return keras_hub


PIXEL_LAYERS = ("crops", "resize", "normalise")  # build_model's layers before the backbone


def gradcam_layer(model, min_side=7):
    """Grad-CAM's layer: the one the backbone names (a ViT's patch grid), else its last one
    with a feature map at least min_side wide.

    That is conv_7b_ac (8 x 8) at 299 px for InceptionResNetV2; at small inputs
    the last map is 1 x 1, which cannot say where, so an earlier block's is used.
    """
    backbone = model.name.removesuffix("_deepfake")
    if backbone in BACKBONES and BACKBONES[backbone].explained_at:
        return model.get_layer(BACKBONES[backbone].explained_at)
    return [layer for layer in model.layers if layer.name not in PIXEL_LAYERS
            and len(layer.output.shape) == 4 and layer.output.shape[1] >= min_side][-1]


def grad_cam(model, crop):
    """(heatmap of crop's size in 0..1, layer name): where the fake score comes from.

    Grad-CAM (Selvaraju et al. 2017): the gradients of the fake logit
    (relative to the real one, which is what the softmax compares) at the
    layer, averaged per channel, weigh its feature maps; negative evidence is
    cut off.
    """
    layer, head = gradcam_layer(model), model.get_layer("real_fake")
    probe = keras.Model(model.inputs[0], [layer.output, head.input])
    image = np.asarray(crop, np.float32)[None]
    with tf.GradientTape() as tape:
        features, pooled = probe(image, training=False)
        logits = tf.matmul(pooled, head.kernel) + head.bias
        fake_logit = logits[:, 1] - logits[:, 0]
    grads = tape.gradient(fake_logit, features)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(features * weights, axis=-1))[0].numpy()
    cam = cv2.resize(cam, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_CUBIC)
    cam = np.clip(cam, 0, None)
    return (cam / cam.max() if cam.max() > 0 else cam), layer.name
