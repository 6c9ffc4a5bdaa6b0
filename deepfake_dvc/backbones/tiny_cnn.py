"""Three strided convolutions: built and trained in seconds, for trying the pipeline on new
data and for the test suite. It learns the demo and nothing more; no pretrained weights."""
from deepfake_dvc.backbones import Backbone, register


def features(images, weights):
    """A 1/8-size feature map of 64 channels on images (weights: always "none")."""
    import keras
    x = images
    for i, width in enumerate((16, 32, 64)):
        x = keras.layers.Conv2D(width, 3, strides=2, padding="same", name=f"tiny_conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"tiny_bn{i}")(x)
        x = keras.layers.Activation("relu", name=f"tiny_relu{i}")(x)
    return x


def normalisation():
    """x / 255, as a layer."""
    import keras
    return keras.layers.Rescaling(1 / 255, name="normalise", dtype="float32")


register(Backbone("tiny_cnn", features, normalisation, min_size=32, default_size=64,
                  pretrained=None))
