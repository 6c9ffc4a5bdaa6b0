"""InceptionResNetV2 (Szegedy et al. 2016), the 2020 work's backbone: every layer trainable,
pixels scaled to [-1, 1] as Keras' own preprocess_input does."""
from deepfake_dvc.backbones import Backbone, register


def features(images, weights):
    """The backbone's last feature map (8 x 8 at 299 px) on images."""
    import keras
    return keras.applications.InceptionResNetV2(
        include_top=False, weights=None if weights == "none" else weights,
        input_tensor=images).output


def normalisation():
    """x / 127.5 - 1, as a layer."""
    import keras
    return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="normalise", dtype="float32")


register(Backbone("inception_resnet_v2", features, normalisation, min_size=75,
                  default_size=299))
