"""Figures drawn off-screen and saved whole."""
from deepfake_dvc.files import atomic_path


def new_figure(width, height, rows=1):
    """(figure, axes) drawn off-screen, so no display is needed (rows > 1: an array of axes,
    one above the other)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt.subplots(rows, figsize=(width, height))


def save_figure(fig, path):
    """Save a new_figure as PNG under a temporary name, then close it."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
