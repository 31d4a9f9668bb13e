"""One run's learning curves, drawn from its dvclive files (the curves step)."""
from __future__ import annotations

from pathlib import Path

from sgrn.data.errors import DataError


def learning_curves(live_plots: Path, title: str):
    """One run's per-epoch curves from its dvclive TSVs: training losses, validation MAP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    import pandas as pd

    files = sorted(Path(live_plots).glob("*.tsv"))
    if not files:
        raise DataError(f"{live_plots}: no learning curves (*.tsv) found; run the train step first")
    fig, (loss_ax, val_ax) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for path in files:
        name = path.stem
        if name.endswith("_seconds"):
            continue  # timing, not a learning curve
        curve = pd.read_csv(path, sep="\t")
        ax = val_ax if name.startswith("val_") else loss_ax
        ax.plot(curve["step"] + 1, curve[name], marker=".", label=name)
    loss_ax.set(xlabel="epoch", ylabel="training loss (mean over batches)", title=f"{title}: training")
    val_ax.set(xlabel="epoch", ylabel="validation MAP@all", title=f"{title}: validation")
    for ax in (loss_ax, val_ax):
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    return fig
