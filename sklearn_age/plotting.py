"""Figures for age models (matplotlib is imported only when a function is called)."""

import numpy as np


def plot_predicted_vs_true(y_true, y_pred, ax=None, title=None):
    """Scatter predicted against true ages, with the identity line and +-5 years band.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted ages in years.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure if None.
    title : str, default=None
        Axes title; by default it reports the MAE.

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    top = max(y_true.max(), y_pred.max()) + 5
    line = np.array([0, top])
    ax.fill_between(line, line - 5, line + 5, color="tab:green", alpha=0.15,
                    label="within 5 years")
    ax.plot(line, line, color="tab:green", lw=1)
    ax.scatter(y_true, y_pred, s=6, alpha=0.5)
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="true age (years)",
           ylabel="predicted age (years)")
    mae = np.mean(np.abs(y_true - y_pred))
    ax.set_title(title or f"Predicted vs true age (MAE {mae:.2f} years)")
    ax.legend(loc="upper left")
    return ax
