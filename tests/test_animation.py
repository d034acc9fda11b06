"""Gradient-descent animations (Agg): frames, artists, HTML and GIF produced offline, ffmpeg handling,
and the learning-rate slider with and without ipywidgets."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import warnings

import matplotlib
import numpy as np
import pytest
import sympy as sp
from PIL import Image

from course_lib import animation
from course_lib.animation import (
    DescentAnimation,
    FFmpegNotAvailable,
    animate_descent_1d,
    animate_descent_2d,
    save_gif,
    save_html,
    save_mp4,
    to_html,
    to_html5_video,
)
from course_lib.gradient_descent import w

matplotlib.use("Agg")


def frame_count(html: str) -> int:
    return len(re.findall(r"data:image/png;base64,", html))


def test_1d_frame_renders_to_png_with_expected_artists():
    anim = animate_descent_1d(start=3.0, learning_rate=0.1, epochs=12, figsize=(4, 3), dpi=50)
    assert isinstance(anim, DescentAnimation) and anim.num_frames == 13
    ax = anim.ax
    # The curve plus the tangent and the point; the gradient label and the title.
    assert len(ax.lines) == 3 and len(ax.texts) == 2
    assert len(anim.animated_artists) == 4
    changed = anim.update(5)
    assert len(changed) == 4
    png = anim.frame_png(5)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (200, 150)

    tangent, point, label, title = changed
    w5 = -2 + 5 * 0.8 ** 5
    np.testing.assert_allclose(point.get_xdata(), [w5])
    np.testing.assert_allclose(point.get_ydata(), [(w5 + 2) ** 2 + 3])
    xs, ys = tangent.get_data()
    np.testing.assert_allclose(np.diff(ys) / np.diff(xs), [2 * (w5 + 2)])  # slope = L'(w_5)
    assert label.get_text() == f"Gradient = {2 * (w5 + 2):.4g}"
    assert title.get_text().startswith("Epoch 5/12") and "learning rate = 0.1" in title.get_text()
    # Different frames differ in pixels (the point moves).
    assert anim.frame_png(0) != anim.frame_png(12)
    with pytest.raises(IndexError, match="13 frames"):
        anim.frame_png(13)


@pytest.mark.parametrize("make", [
    lambda: animate_descent_1d(epochs=6, figsize=(4, 3), dpi=50),
    lambda: animate_descent_2d(epochs=6, figsize=(4, 3.5), dpi=50),
])
def test_blitted_frames_equal_full_redraws(make):
    anim = make()
    blitted = [f.copy() for f in anim.iter_frames(blit=True)]
    full = [f.copy() for f in anim.iter_frames(blit=False)]
    assert len(blitted) == len(full) == 7
    for a, b in zip(blitted, full):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(blitted[0], blitted[-1])


def test_html_produced_offline_with_every_frame(tmp_path):
    anim = animate_descent_1d(epochs=9, figsize=(4, 3), dpi=50)
    html = anim.to_jshtml()
    assert "<script" in html and "animation" in html.lower()
    assert frame_count(html) == 10
    assert to_html(anim) == html  # cached
    # matplotlib's own (unblitted) to_jshtml gives the same player with the same number of frames.
    reference = matplotlib.animation.FuncAnimation.to_jshtml(anim)
    assert frame_count(reference) == 10
    path = save_html(anim, tmp_path / "descent.html")
    assert frame_count(path.read_text()) == 10
    with pytest.raises(ValueError, match=".html suffix"):
        save_html(anim, tmp_path / "descent.txt")


def test_embed_limit_is_a_clear_error():
    anim = animate_descent_1d(epochs=9, figsize=(4, 3), dpi=50)
    with pytest.raises(ValueError, match="embed_limit"):
        anim.to_jshtml(embed_limit=0.001)


def test_gif_produced_offline(tmp_path):
    anim = animate_descent_2d(epochs=5, figsize=(4, 3.5), dpi=40)
    path = save_gif(anim, tmp_path / "descent.gif", fps=5)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 6 and gif.size == (160, 140)
        assert gif.info["duration"] == 200
    with pytest.raises(ValueError, match=".gif suffix"):
        save_gif(anim, tmp_path / "descent.png")


def test_2d_path_follows_the_descent():
    anim = animate_descent_2d(start=(-1.0, 1.0), learning_rate=0.2, epochs=8, figsize=(4, 3.5), dpi=40)
    trail, point, label, title = anim.update(4)
    factor = 0.6 ** np.arange(5)
    np.testing.assert_allclose(trail.get_xdata(), 2 - 3 * factor)
    np.testing.assert_allclose(trail.get_ydata(), -3 + 4 * factor)
    np.testing.assert_allclose(point.get_data(), [[2 - 3 * 0.6 ** 4], [-3 + 4 * 0.6 ** 4]])
    assert label.get_text().startswith("Gradient = (") and title.get_text().startswith("Epoch 4/8")
    assert len(anim.animated_artists) == 4
    assert Image.open(io.BytesIO(anim.frame_png(4))).size == (160, 140)


def test_custom_expression_and_errors():
    anim = animate_descent_1d(w ** 4 - 3 * w ** 2, start=0.5, learning_rate=0.01, epochs=5, dpi=30)
    assert anim.num_frames == 6
    anim_tol = animate_descent_1d(start=3.0, learning_rate=0.5, epochs=50, tol=1e-6, dpi=30)
    assert anim_tol.num_frames == 2  # lr 0.5 jumps to the minimum in one step
    # A run that overflows still animates: the frames up to the overflow, no warnings.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diverged = animate_descent_1d(sp.exp(w ** 2), start=2.0, learning_rate=1.0, epochs=10, dpi=30)
        assert diverged.result.behaviour == "diverges (overflow)" and diverged.num_frames == 2
        assert frame_count(diverged.to_jshtml()) == 2
    with pytest.raises(ValueError, match="1 symbol"):
        animate_descent_1d("w1**2 + w2**2")
    with pytest.raises(ValueError, match="2 symbol"):
        animate_descent_2d("(w+2)**2")
    with pytest.raises(ValueError, match="w_range"):
        animate_descent_1d(w_range=(1, -1))


def test_ffmpeg_missing_is_said_clearly(monkeypatch, tmp_path):
    monkeypatch.setitem(matplotlib.rcParams, "animation.ffmpeg_path", "/nonexistent/ffmpeg-course-lib")
    assert not animation.ffmpeg_available()
    anim = animate_descent_1d(epochs=2, dpi=30)
    with pytest.raises(FFmpegNotAvailable, match="ffmpeg was not found.*to_jshtml"):
        save_mp4(anim, tmp_path / "a.mp4")
    with pytest.raises(FFmpegNotAvailable, match="save_gif"):
        to_html5_video(anim)
    shown = animation.display_animation(anim, prefer="video")
    assert frame_count(shown.data) == 3


def _an_ffmpeg() -> str | None:
    """The system's ffmpeg, else the one imageio-ffmpeg ships in its wheel (a test dependency)."""
    if animation.ffmpeg_available():
        return matplotlib.rcParams["animation.ffmpeg_path"]
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    return imageio_ffmpeg.get_ffmpeg_exe()


def test_mp4_and_html5_video_with_an_ffmpeg(monkeypatch, tmp_path):
    ffmpeg = _an_ffmpeg()
    if ffmpeg is None:
        pytest.skip("no ffmpeg on this machine and imageio-ffmpeg (in the test extra) is not installed")
    monkeypatch.setitem(matplotlib.rcParams, "animation.ffmpeg_path", ffmpeg)
    assert animation.ffmpeg_available()
    anim = animate_descent_1d(epochs=4, figsize=(4, 3), dpi=50)
    path = save_mp4(anim, tmp_path / "a.mp4")
    head = path.read_bytes()[:12]
    assert head[4:8] == b"ftyp", head  # an ISO media (MP4) file
    probe = subprocess.run([ffmpeg, "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "null", "-"],
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr[-2000:]
    frames = re.findall(r"frame=\s*(\d+)", probe.stderr)
    assert frames and int(frames[-1]) == 5, probe.stderr[-2000:]  # the start and 4 epochs
    video = to_html5_video(anim)
    assert video.startswith("<video") and "data:video/mp4;base64," in video
    shown = animation.display_animation(anim, prefer="video")
    assert "<video" in shown.data


def test_slider_without_ipywidgets(monkeypatch, capsys):
    from course_lib.interactive import learning_rate_slider

    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets now raises ImportError
    fig = learning_rate_slider()
    out = capsys.readouterr().out
    assert "needs ipywidgets" in out and 'pip install "course_lib[widgets]"' in out
    assert len(fig.get_axes()) == 8  # the static study instead
    with pytest.raises(ImportError, match="needs ipywidgets"):
        learning_rate_slider(on_missing="raise")


def test_slider_with_ipywidgets(capsys):
    pytest.importorskip("ipywidgets")
    from course_lib.interactive import descent_figure, learning_rate_slider

    box = learning_rate_slider(learning_rate=0.1, epochs=10)
    rate, epochs = box.children[0].children
    assert rate.description == "learning rate" and rate.value == pytest.approx(0.1)
    assert epochs.value == 10
    rate.value = 0.5  # redraws (outside a kernel the figure's repr goes to stdout)
    assert "Figure(" in capsys.readouterr().out
    fig = descent_figure(learning_rate=1.0, epochs=4)
    ax = fig.get_axes()[0]
    assert len(ax.lines) == 3 and "never converges" in ax.texts[0].get_text()
