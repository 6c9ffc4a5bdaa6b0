"""Keras applications as backbones: the feature map without the ImageNet classifier, and the
pixel scalings they were trained with."""


def application(constructor, **options):
    """features(images, weights) of keras.applications.<constructor>: its last feature map,
    ImageNet weights downloaded and cached by Keras, a weights file loaded by topology."""
    def features(images, weights):
        import keras
        network = getattr(keras.applications, constructor)
        return network(include_top=False, weights=None if weights == "none" else weights,
                       input_tensor=images, **options).output
    features.__doc__ = f"The last feature map of keras.applications.{constructor} on images."
    return features


def symmetric():
    """x / 127.5 - 1 (pixels in [-1, 1]), as a layer."""
    import keras
    return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="normalise", dtype="float32")


def as_is():
    """The pixels as they are (0..255): the network normalises them in its own first layers."""
    import keras
    return keras.layers.Identity(name="normalise", dtype="float32")
