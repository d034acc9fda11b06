"""A learning-rate slider for live demos (ipywidgets, optional).

``learning_rate_slider()`` returns a widget: a log-scale slider for the learning rate (and one
for the number of epochs) that redraws the descent on the loss curve. ipywidgets is an optional
dependency (``pip install "course_lib[widgets]"``); without it the function says so and, by
default, shows the static figures for the lecture's learning rates instead.
"""
from __future__ import annotations

import numpy as np

from course_lib.gradient_descent import (
    DEFAULT_LOSS_1D,
    LECTURE_LEARNING_RATES,
    as_expression,
    curve_range,
    finite_values,
    gradient_descent,
    gradient_function,
    learning_rate_study,
)

MISSING_IPYWIDGETS = (
    "The learning-rate slider needs ipywidgets, which is not installed: "
    'pip install "course_lib[widgets]" (or pip install ipywidgets), then restart the kernel.'
)


def descent_figure(expression=None, start: float = 3.0, learning_rate: float = 0.1, epochs: int = 20,
                   *, figsize=(6.4, 4.0)):
    """Static figure of 1D gradient descent: the curve, every iterate joined in order, the tangent at
    the last one, and "Gradient = ..." / epoch / learning-rate texts. Returns a Figure (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    expression, symbols = as_expression(DEFAULT_LOSS_1D if expression is None else expression, 1)
    result = gradient_descent(expression, start, learning_rate, tol=0.0, max_iterations=epochs,
                              symbols=symbols)
    ws, losses, grads = result.iterates[:, 0], result.losses, result.gradients[:, 0]
    loss_fn, _ = gradient_function(expression, symbols)
    finite = np.isfinite(ws) & np.isfinite(losses)
    lo, hi = curve_range(ws[finite])
    grid = np.linspace(lo, hi, 300)
    curve = finite_values(loss_fn, grid)

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(grid, curve, color="C0", lw=2)
    ax.plot(ws[finite], losses[finite], "o-", color="C3", ms=4, lw=0.8, alpha=0.8)
    k = int(np.flatnonzero(finite)[-1])
    half = 0.12 * (hi - lo)
    xs = np.array([ws[k] - half, ws[k] + half])
    ax.plot(xs, losses[k] + grads[k] * (xs - ws[k]), color="C1", lw=1.5)
    bottom, top = float(np.nanmin(curve)), float(np.nanmax(curve))
    span = (top - bottom) or 1.0
    ax.set_ylim(bottom - 0.05 * span, top + 0.25 * span)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(symbols[0].name)
    ax.set_ylabel(f"L({symbols[0].name})")
    ax.text(0.03, 0.95, f"Epoch {k}/{result.iterations}   learning rate = {learning_rate:g}   {result.behaviour}",
            transform=ax.transAxes, va="top", fontsize=10)
    ax.text(0.03, 0.85, f"Gradient = {grads[k]:.4g}", transform=ax.transAxes, fontsize=10)
    return fig


def learning_rate_slider(expression=None, start: float = 3.0, epochs: int = 20, *,
                         learning_rate: float = 0.1, min_exponent: float = -3.0,
                         max_exponent: float = 0.1, on_missing: str = "static"):
    """An ipywidgets control: a log slider for the learning rate (10**min_exponent ..
    10**max_exponent) and an epochs slider, redrawing :func:`descent_figure` on change.

    Without ipywidgets: ``on_missing="static"`` prints how to install it and returns the static
    study figure for the lecture's learning rates; ``on_missing="raise"`` raises ImportError."""
    if on_missing not in ("static", "raise"):
        raise ValueError(f"on_missing must be 'static' or 'raise', got {on_missing!r}")
    if not min_exponent < max_exponent:
        raise ValueError(f"min_exponent must be below max_exponent, got {min_exponent} and {max_exponent}")
    expression, _ = as_expression(DEFAULT_LOSS_1D if expression is None else expression, 1)
    try:
        import ipywidgets as widgets
    except ImportError:
        if on_missing == "raise":
            raise ImportError(MISSING_IPYWIDGETS) from None
        print(MISSING_IPYWIDGETS)
        print("Showing the static figures for the learning rates", ", ".join(f"{lr:g}" for lr in LECTURE_LEARNING_RATES))
        return learning_rate_study(expression, start, LECTURE_LEARNING_RATES).plot()
    from IPython.display import display

    rate = widgets.FloatLogSlider(value=learning_rate, base=10, min=min_exponent, max=max_exponent,
                                  step=0.05, description="learning rate", readout_format=".3g",
                                  continuous_update=False)
    steps = widgets.IntSlider(value=epochs, min=1, max=max(100, epochs), description="epochs",
                              continuous_update=False)
    out = widgets.Output()

    def redraw(learning_rate, epochs):
        out.clear_output(wait=True)
        with out:
            display(descent_figure(expression, start, learning_rate, epochs))

    widgets.interactive_output(redraw, {"learning_rate": rate, "epochs": steps})
    return widgets.VBox([widgets.HBox([rate, steps]), out])
