"""CLIP's vision transformer (Radford et al. 2021), the backbone of today's best
cross-dataset detectors (Effort, Forensics Adapter, GenD), from keras-hub: ViT-B/16 and
ViT-L/14 with their CLIP weights (keras-hub presets, for users with internet), and a small
configuration with random weights for tests and offline trials.

Its feature map is the patch tokens of the last layer laid out on the patch grid (the class
token dropped), so pooling, Grad-CAM (gradients on the patch tokens) and the exports treat it
as a CNN's. The pixels are normalised with CLIP's channel means and deviations."""
import math

from deepfake_dvc.backbones import Backbone, register

MEAN = (0.48145466, 0.4578275, 0.40821073)  # CLIP's, of RGB in 0..1
STD = (0.26862954, 0.26130258, 0.27577711)
VIT_B16 = dict(patch_size=16, hidden_dim=768, num_layers=12, num_heads=12, intermediate_dim=3072)
VIT_L14 = dict(patch_size=14, hidden_dim=1024, num_layers=24, num_heads=16, intermediate_dim=4096)
VIT_TINY = dict(patch_size=8, hidden_dim=64, num_layers=2, num_heads=2, intermediate_dim=128)


def vision_encoder(config, preset=None):
    """features(images, weights) of a CLIP vision encoder of config, built for the images'
    size: random ("none"), the preset's CLIP weights, or a weights file of this encoder."""
    def features(images, weights):
        from deepfake_dvc.model import PatchGrid, import_keras_hub
        keras_hub = import_keras_hub()
        size = images.shape[1]
        encoder = keras_hub.models.CLIPVisionEncoder(**config, image_shape=(size, size, 3),
                                                     name="clip_vision")
        number_positions(encoder)
        if preset and weights == preset:
            copy_weights(keras_hub.models.CLIPBackbone.from_preset(preset).vision_encoder,
                         encoder)
        elif weights != "none":
            encoder.load_weights(weights)
        return PatchGrid(name="patch_grid")(encoder({"images": images}))
    return features


def number_positions(encoder):
    """Set the patch positions' ids to 0, 1, 2 ...: keras-hub builds them as zeros (a preset
    loads them), which would give every token of a randomly initialised ViT one position."""
    import keras
    ids = encoder.embedding.position_ids
    ids.assign(keras.ops.expand_dims(keras.ops.arange(ids.shape[1], dtype=ids.dtype), 0))


def copy_weights(source, target):
    """source's weights into target, an encoder of the same configuration for another input
    size: its position embeddings resized (bilinearly) to target's patch grid."""
    import numpy as np
    for mine, theirs in zip(target.weights, source.weights):
        if mine.path.endswith("position_ids"):
            continue  # 0, 1, 2 ...: the target's own (number_positions)
        value = np.asarray(theirs)
        if value.shape != tuple(mine.shape):
            value = resized_positions(value, mine.shape[0])
        mine.assign(value)


def resized_positions(table, count):
    """A (1 + n*n, dim) position table resized to (count, dim): the class token's row kept,
    the grid's rows resized as an image."""
    import keras
    import numpy as np
    side, new_side = math.isqrt(len(table) - 1), math.isqrt(count - 1)
    grid = keras.ops.image.resize(table[1:].reshape(1, side, side, -1), (new_side, new_side),
                                  interpolation="bilinear")
    return np.concatenate([table[:1], np.asarray(grid).reshape(new_side * new_side, -1)])


def normalisation():
    """(x / 255 - mean) / std per channel, as a layer."""
    import keras
    return keras.layers.Rescaling([1 / (255 * s) for s in STD],
                                  offset=[-m / s for m, s in zip(MEAN, STD)],
                                  name="normalise", dtype="float32")


def clip_backbone(name, config, preset, default_size):
    """A registry entry for a CLIP vision encoder of config."""
    return Backbone(name, vision_encoder(config, preset), normalisation,
                    min_size=32, default_size=default_size,
                    size_step=config["patch_size"], pretrained=preset,
                    tunes=("all", "head", "layernorm"), explained_at="patch_grid")


register(clip_backbone("clip_vit_b16", VIT_B16, "clip_vit_base_patch16", 224))
register(clip_backbone("clip_vit_l14", VIT_L14, "clip_vit_large_patch14", 224))
register(clip_backbone("clip_vit_tiny", VIT_TINY, None, 64))
