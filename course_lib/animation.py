"""Animated gradient descent (the lecture's figures) and how to render them.

1D: the loss curve, the moving point ``(w_k, L(w_k))``, the tangent line of slope
``L'(w_k)``, a "Gradient = ..." label and an epoch / learning-rate title. 2D: the contour
plot of ``L(w1, w2)`` with the descent path growing. Both are :class:`DescentAnimation`
objects (a ``FuncAnimation``), rendered

- to interactive HTML with no ffmpeg: ``anim.to_jshtml()`` (matplotlib's JavaScript player;
  with ``blit=True`` the static part is drawn once and only the moving artists per frame),
- to GIF with Pillow: :func:`save_gif`,
- to MP4 / HTML5 video only where an ffmpeg is found: :func:`save_mp4`, :func:`to_html5_video`
  raise :class:`FFmpegNotAvailable` saying so otherwise.

Figures are plain ``matplotlib.figure.Figure`` objects with an Agg canvas (no pyplot state),
so nothing here changes global settings.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import sympy as sp
from matplotlib import animation as mpl_animation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from course_lib.gradient_descent import (
    DEFAULT_LOSS_1D,
    DEFAULT_LOSS_2D,
    DescentResult,
    as_expression,
    curve_range,
    finite_values,
    gradient_descent,
    gradient_function,
)

FFMPEG_HELP = (
    "ffmpeg was not found (matplotlib looks for {path!r}), so MP4 / HTML5 video cannot be made "
    "here. Use anim.to_jshtml() (interactive HTML) or save_gif(anim, path) instead, or install "
    "ffmpeg (e.g. `apt-get install ffmpeg`) or point rcParams['animation.ffmpeg_path'] at one."
)


class FFmpegNotAvailable(RuntimeError):
    """Raised when an MP4 / HTML5 video is asked for and no ffmpeg is installed."""


def ffmpeg_available() -> bool:
    """True when matplotlib finds an ffmpeg executable."""
    return mpl_animation.writers.is_available("ffmpeg")


def _require_ffmpeg() -> None:
    if not ffmpeg_available():
        import matplotlib

        raise FFmpegNotAvailable(FFMPEG_HELP.format(path=matplotlib.rcParams["animation.ffmpeg_path"]))


class _EncodedFramesHTMLWriter(mpl_animation.HTMLWriter):
    """matplotlib's HTMLWriter (the ``to_jshtml`` player) fed with already encoded PNG frames."""

    def add_png(self, data: bytes) -> None:
        # The same bookkeeping as HTMLWriter.grab_frame with embedded frames, incl. the embed limit.
        if self._hit_limit:
            return
        encoded = base64.encodebytes(data).decode("ascii")
        self._total_bytes += len(encoded)
        if self._total_bytes >= self._bytes_limit:
            self._hit_limit = True
            raise ValueError(
                f"the animation's HTML would exceed rcParams['animation.embed_limit'] "
                f"({self._bytes_limit / 2**20:.0f} MB); use fewer frames, a smaller figure or dpi, "
                f"or pass a larger embed_limit (in MB)"
            )
        self._saved_frames.append(encoded)


class DescentAnimation(mpl_animation.FuncAnimation):
    """A ``FuncAnimation`` of a :class:`DescentResult`, one frame per iterate.

    ``result`` is the run, ``figure``/``ax`` the plot, ``animated_artists`` the artists each frame
    changes (drawn over a cached background when ``blit``), ``update(k)`` draws frame k."""

    def __init__(self, figure, ax, result: DescentResult, update, animated_artists, *,
                 interval: int = 200, blit: bool = True, repeat: bool = True):
        self.result = result
        self.figure = figure
        self.ax = ax
        self.animated_artists = tuple(sorted(animated_artists, key=lambda a: a.get_zorder()))
        self.update = update
        self.num_frames = len(result.iterates)
        self.interval, self.blitting, self.repeating = interval, blit, repeat
        super().__init__(figure, update, frames=self.num_frames, init_func=lambda: update(0),
                         interval=interval, blit=blit, repeat=repeat)

    # --- frames ---------------------------------------------------------------------------
    def iter_frames(self, blit: bool | None = None):
        """Yield every frame as an (H, W, 4) uint8 RGBA array (a view, valid until the next one).

        With ``blit`` (default: the animation's setting) the figure without the moving artists
        is drawn once and each frame restores it and draws only ``animated_artists``."""
        blit = self.blitting if blit is None else blit
        canvas = self.figure.canvas
        if not isinstance(canvas, FigureCanvasAgg):
            canvas = FigureCanvasAgg(self.figure)
        self._draw_was_started = True  # rendered: no "deleted without rendering" warning
        previous = [a.get_animated() for a in self.animated_artists]
        try:
            # Agg's full draw leaves animated artists out: mark them so only when blitting.
            for a in self.animated_artists:
                a.set_animated(blit)
            if not blit:
                for k in range(self.num_frames):
                    self.update(k)
                    canvas.draw()
                    yield np.asarray(canvas.buffer_rgba())
                return
            canvas.draw()
            background = canvas.copy_from_bbox(self.figure.bbox)
            for k in range(self.num_frames):
                canvas.restore_region(background)
                self.update(k)
                for a in self.animated_artists:
                    self.figure.draw_artist(a)
                yield np.asarray(canvas.buffer_rgba())
        finally:
            for a, state in zip(self.animated_artists, previous):
                a.set_animated(state)

    def iter_images(self, blit: bool | None = None):
        """Yield every frame as an RGB ``PIL.Image``."""
        for rgba in self.iter_frames(blit):
            yield Image.fromarray(rgba, "RGBA").convert("RGB")

    def frame_png(self, k: int) -> bytes:
        """Frame ``k`` drawn in full (no blitting) as PNG bytes."""
        if not 0 <= k < self.num_frames:
            raise IndexError(f"frame {k} out of range: the animation has {self.num_frames} frames")
        self.update(k)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        return buffer.getvalue()

    # --- rendering ------------------------------------------------------------------------
    def to_jshtml(self, fps=None, embed_frames=True, default_mode=None, *, blit=None,
                  embed_limit=None, compress_level: int = 1):
        """The animation as HTML with matplotlib's JavaScript player (no ffmpeg needed).

        Same output as ``FuncAnimation.to_jshtml``; frames are rendered with blitting when
        ``blit`` (default: the animation's setting) and PNG-encoded by Pillow at
        ``compress_level`` (1: fast, larger). ``embed_limit`` in MB (default from rcParams)."""
        blit = self.blitting if blit is None else blit
        if not embed_frames:
            return super().to_jshtml(fps=fps, embed_frames=False, default_mode=default_mode)
        key = (fps, default_mode, blit, embed_limit, compress_level)
        cache = self.__dict__.setdefault("_html_cache", {})
        if key in cache:
            return cache[key]
        fps = 1000 / self.interval if fps is None else fps
        default_mode = default_mode or ("loop" if self.repeating else "once")
        writer = _EncodedFramesHTMLWriter(fps=fps, embed_frames=True, default_mode=default_mode,
                                          embed_limit=embed_limit)
        with TemporaryDirectory() as tmpdir:
            path = Path(tmpdir, "animation.html")
            writer.setup(self.figure, path, dpi=self.figure.dpi)
            writer.frame_format = "png"
            for image in self.iter_images(blit):
                buffer = io.BytesIO()
                image.save(buffer, format="PNG", compress_level=compress_level)
                writer.add_png(buffer.getvalue())
            writer.finish()
            cache[key] = path.read_text()
        return cache[key]


# --- the 1D animation ---------------------------------------------------------------------------

def animate_descent_1d(
    expression=None,
    start: float = 3.0,
    learning_rate: float = 0.1,
    epochs: int = 30,
    *,
    symbol=None,
    tol: float = 0.0,
    w_range: tuple[float, float] | None = None,
    interval: int = 200,
    blit: bool = True,
    figsize=(6.4, 4.0),
    dpi: int = 100,
) -> DescentAnimation:
    """Gradient descent on ``expression`` (default ``(w + 2)**2 + 3``), animated: one frame per
    epoch ``k = 0..epochs`` (fewer if ``|L'(w_k)| <= tol`` earlier).

    Frame k shows the curve, the point ``(w_k, L(w_k))``, the tangent
    ``L(w_k) + L'(w_k)(w - w_k)``, "Gradient = L'(w_k)" and "Epoch k/K, learning rate"."""
    expression, symbols = as_expression(DEFAULT_LOSS_1D if expression is None else expression, 1, symbol)
    result = gradient_descent(expression, start, learning_rate, tol=tol, max_iterations=epochs,
                              symbols=symbols)
    ws, losses, grads = result.iterates[:, 0], result.losses, result.gradients[:, 0]
    loss_fn, _ = gradient_function(expression, symbols)

    lo, hi = curve_range(ws) if w_range is None else map(float, w_range)
    if not lo < hi:
        raise ValueError(f"w_range must be (low, high) with low < high, got {w_range}")
    grid = np.linspace(lo, hi, 400)
    curve = finite_values(loss_fn, grid)
    if np.all(np.isnan(curve)):
        raise ValueError(f"the loss {expression} is not finite anywhere on [{lo:g}, {hi:g}]; pass w_range")
    bottom, top = float(np.nanmin(curve)), float(np.nanmax(curve))
    span = max(top - bottom, 1e-12)

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(grid, curve, color="C0", lw=2)
    ax.set_title(f"$L({symbols[0].name}) = {sp.latex(expression)}$", fontsize=11)
    ax.set_xlim(lo, hi)
    ax.set_ylim(bottom - 0.05 * span, top + 0.25 * span)  # headroom for the texts
    ax.set_xlabel(symbols[0].name)
    ax.set_ylabel(f"L({symbols[0].name})")
    fig.get_layout_engine().execute(fig)  # fix the layout now: frames must not move the axes
    fig.set_layout_engine("none")

    (tangent,) = ax.plot([], [], color="C1", lw=1.5, zorder=3)
    (point,) = ax.plot([], [], "o", color="C3", ms=9, zorder=4)
    box = dict(facecolor="white", alpha=0.85, edgecolor="none")
    label = ax.text(0.03, 0.82, "", transform=ax.transAxes, fontsize=10, zorder=5, bbox=box)
    title = ax.text(0.03, 0.95, "", transform=ax.transAxes, fontsize=11, va="top", zorder=5,
                    bbox=box)
    half = 0.12 * (hi - lo)
    last = len(ws) - 1

    def update(k):
        w_k, g_k = ws[k], grads[k]
        point.set_data([w_k], [losses[k]])
        xs = np.array([w_k - half, w_k + half])
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged run has inf values
            tangent.set_data(xs, losses[k] + g_k * (xs - w_k))
        label.set_text(f"Gradient = {g_k:.4g}")
        title.set_text(f"Epoch {k}/{last}   learning rate = {result.learning_rate:g}")
        return tangent, point, label, title

    return DescentAnimation(fig, ax, result, update, (tangent, point, label, title),
                            interval=interval, blit=blit)


# --- the 2D animation ---------------------------------------------------------------------------

def animate_descent_2d(
    expression=None,
    start=(-2.0, 2.0),
    learning_rate: float = 0.1,
    epochs: int = 30,
    *,
    symbols=None,
    tol: float = 0.0,
    bounds: tuple[tuple[float, float], tuple[float, float]] | None = None,
    levels: int = 20,
    interval: int = 200,
    blit: bool = True,
    figsize=(5.6, 4.8),
    dpi: int = 80,
) -> DescentAnimation:
    """Gradient descent on a loss in two symbols (default ``(w1 - 2)**2 + (w2 + 3)**2``) over its
    contour plot: frame k adds ``w_k`` to the path and shows the gradient and the loss there."""
    expression, symbols = as_expression(DEFAULT_LOSS_2D if expression is None else expression, 2, symbols)
    result = gradient_descent(expression, start, learning_rate, tol=tol, max_iterations=epochs,
                              symbols=symbols)
    path, grads, losses = result.iterates, result.gradients, result.losses
    loss_fn, _ = gradient_function(expression, symbols)

    if bounds is None:
        xs, ys = curve_range(path[:, 0], minimum_width=4.0), curve_range(path[:, 1], minimum_width=4.0)
    else:
        (x0, x1), (y0, y1) = bounds
        if not (x0 < x1 and y0 < y1):
            raise ValueError(f"bounds must be ((x_low, x_high), (y_low, y_high)) with low < high, got {bounds}")
        xs, ys = (float(x0), float(x1)), (float(y0), float(y1))
    X, Y = np.meshgrid(np.linspace(*xs, 200), np.linspace(*ys, 200))
    L = finite_values(loss_fn, X, Y)
    if np.all(np.isnan(L)):
        raise ValueError(f"the loss {expression} is not finite anywhere in {xs} x {ys}; pass bounds")

    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    filled = ax.contourf(X, Y, L, levels=levels, cmap="viridis", alpha=0.85)
    ax.contour(X, Y, L, levels=levels, colors="k", linewidths=0.4, alpha=0.5)
    fig.colorbar(filled, ax=ax, label=f"L({symbols[0].name}, {symbols[1].name})")
    ax.set_xlim(*xs)
    ax.set_ylim(*ys)
    ax.set_xlabel(symbols[0].name)
    ax.set_ylabel(symbols[1].name)
    ax.set_aspect("equal", adjustable="box")
    ax.set_title(f"$L({symbols[0].name}, {symbols[1].name}) = {sp.latex(expression)}$", fontsize=11)
    fig.get_layout_engine().execute(fig)
    fig.set_layout_engine("none")

    (trail,) = ax.plot([], [], "-o", color="white", ms=3, lw=1.2, zorder=3)
    (point,) = ax.plot([], [], "o", color="C3", ms=9, mec="white", zorder=4)
    box = dict(facecolor="white", alpha=0.85, edgecolor="none")
    label = ax.text(0.03, 0.05, "", transform=ax.transAxes, fontsize=9, zorder=5, bbox=box)
    title = ax.text(0.03, 0.95, "", transform=ax.transAxes, fontsize=10, va="top", zorder=5, bbox=box)
    last = len(path) - 1

    def update(k):
        trail.set_data(path[: k + 1, 0], path[: k + 1, 1])
        point.set_data([path[k, 0]], [path[k, 1]])
        label.set_text(f"Gradient = ({grads[k, 0]:.3g}, {grads[k, 1]:.3g})   L = {losses[k]:.4g}")
        title.set_text(f"Epoch {k}/{last}   learning rate = {result.learning_rate:g}")
        return trail, point, label, title

    return DescentAnimation(fig, ax, result, update, (trail, point, label, title),
                            interval=interval, blit=blit)


# --- rendering helpers --------------------------------------------------------------------------

def _default_fps(anim) -> float:
    """Frames per second from the animation's interval between frames (ms)."""
    interval = anim.interval if isinstance(anim, DescentAnimation) else getattr(anim, "_interval", 200)
    return 1000 / interval


def to_html(anim, **kwargs) -> str:
    """Interactive HTML (JavaScript player, frames embedded as PNG): ``anim.to_jshtml(**kwargs)``."""
    return anim.to_jshtml(**kwargs)


def save_html(anim, path, **kwargs) -> Path:
    """Write :func:`to_html` to ``path`` (a self-contained .html file)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"the HTML file needs a .html suffix, got {path.name!r}")
    path.write_text(to_html(anim, **kwargs))
    return path


def save_gif(anim, path, fps: float | None = None, *, blit: bool | None = None) -> Path:
    """Write the animation as an animated GIF with Pillow (no ffmpeg), looping forever."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"the GIF file needs a .gif suffix, got {path.name!r}")
    fps = _default_fps(anim) if fps is None else float(fps)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if not isinstance(anim, DescentAnimation):
        anim.save(path, writer=mpl_animation.PillowWriter(fps=fps))
        return path
    # Quantize each frame to a palette: GIF holds 256 colours per frame.
    frames = [image.quantize(colors=256, method=Image.Quantize.MEDIANCUT) for image in anim.iter_images(blit)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(round(1000 / fps)),
                   loop=0, optimize=False)
    return path


def save_mp4(anim, path, fps: float | None = None, **kwargs) -> Path:
    """Write an MP4 with ffmpeg; raises :class:`FFmpegNotAvailable` (with what to do) without it."""
    _require_ffmpeg()
    path = Path(path)
    anim.save(path, writer=mpl_animation.FFMpegWriter(fps=_default_fps(anim) if fps is None else fps), **kwargs)
    return path


def to_html5_video(anim) -> str:
    """An HTML5 ``<video>`` tag (H.264 via ffmpeg); raises :class:`FFmpegNotAvailable` without ffmpeg."""
    _require_ffmpeg()
    return anim.to_html5_video()


def display_animation(anim, prefer: str = "jshtml"):
    """An ``IPython.display.HTML`` to show in a notebook.

    ``prefer="jshtml"``: the JavaScript player; ``prefer="video"``: an HTML5 video when ffmpeg
    is present, else a printed note and the JavaScript player."""
    from IPython.display import HTML

    if prefer not in ("jshtml", "video"):
        raise ValueError(f"prefer must be 'jshtml' or 'video', got {prefer!r}")
    if prefer == "video":
        if ffmpeg_available():
            return HTML(anim.to_html5_video())
        print("ffmpeg is not installed here: showing the JavaScript player instead of an HTML5 video.")
    return HTML(anim.to_jshtml())
