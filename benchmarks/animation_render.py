"""Render a 100-frame 1D gradient-descent animation to interactive HTML (no ffmpeg).

Measured in the same run (best of --repeats, each on a freshly built animation so no cache helps):

- blitting: ``DescentAnimation.to_jshtml()`` -- the curve and axes drawn once, per frame only the
  point, tangent and texts drawn over the cached background, PNG-encoded by Pillow;
- not blitting, same encoder: every frame drawn in full (``to_jshtml(blit=False)``);
- not blitting, matplotlib's own ``FuncAnimation.to_jshtml`` (what a plain FuncAnimation does:
  full draw per frame plus ``savefig`` per frame) -- the peer.

Target: the blitted render of 100 frames in <= 5 s on the course's 2-core machine.

    python benchmarks/animation_render.py
    python benchmarks/animation_render.py --frames 200 --repeats 1
"""
from __future__ import annotations

import argparse
import time

import matplotlib

matplotlib.use("Agg")

from matplotlib.animation import FuncAnimation  # noqa: E402

from course_lib.animation import animate_descent_1d  # noqa: E402

TARGET_SECONDS = 5.0


def timed(build, render, repeats: int) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(repeats):
        anim = build()
        start = time.perf_counter()
        html = render(anim)
        best = min(best, time.perf_counter() - start)
        size = len(html)
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    def build():
        return animate_descent_1d(start=3.0, learning_rate=0.05, epochs=args.frames - 1)

    start = time.perf_counter()
    anim = build()
    build_seconds = time.perf_counter() - start
    assert anim.num_frames == args.frames
    w, h = anim.figure.canvas.get_width_height()

    blit, blit_size = timed(build, lambda a: a.to_jshtml(), args.repeats)
    full, full_size = timed(build, lambda a: a.to_jshtml(blit=False), args.repeats)
    mpl, mpl_size = timed(build, lambda a: FuncAnimation.to_jshtml(a), args.repeats)

    print(f"1D descent animation: {args.frames} frames of {w}x{h} px, best of {args.repeats}")
    print(f"  build (descent + figure)                         {build_seconds:6.2f} s")
    print(f"  to_jshtml, blitting                              {blit:6.2f} s  "
          f"({1000 * blit / args.frames:.1f} ms/frame, {blit_size / 1e6:.2f} MB)")
    print(f"  to_jshtml(blit=False), full redraw per frame     {full:6.2f} s  "
          f"({1000 * full / args.frames:.1f} ms/frame, {full_size / 1e6:.2f} MB)")
    print(f"  matplotlib FuncAnimation.to_jshtml (peer)        {mpl:6.2f} s  "
          f"({1000 * mpl / args.frames:.1f} ms/frame, {mpl_size / 1e6:.2f} MB)")
    print(f"  blitting speed-up: {full / blit:.1f}x over full redraws, {mpl / blit:.1f}x over matplotlib's to_jshtml")
    verdict = "meets" if blit <= TARGET_SECONDS * args.frames / 100 else "MISSES"
    print(f"  target <= {TARGET_SECONDS:.0f} s per 100 frames: {verdict} ({100 * blit / args.frames:.2f} s per 100)")


if __name__ == "__main__":
    main()
