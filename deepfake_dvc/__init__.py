"""Deepfake-video detection: the library behind the DVC pipeline's stages and `deepfake-check`."""
import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
