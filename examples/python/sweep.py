"""A parameter sweep on this machine with jobsplit.map(): a damped oscillator's final
amplitude over a grid of damping and frequency, results in item order. A point that diverges
returns NaN, which is kept as NaN.

    python sweep.py
"""

import math

import jobsplit


def final_amplitude(point):
    x, v, dt = 1.0, 0.0, 0.01
    steps = jobsplit.job.params["steps"]
    for _ in range(steps):
        a = -point["k"] * x - point["damping"] * v
        v += a * dt
        x += v * dt
    return abs(x) if math.isfinite(x) and abs(x) < 1e6 else float("nan")


if __name__ == "__main__":
    grid = [{"damping": d / 10, "k": k} for d in range(0, 5) for k in (1, 4, 9)]
    amplitudes = jobsplit.map(final_amplitude, grid, threads=2, params={"steps": 2000}, seed="sweep")
    for point, amplitude in zip(grid, amplitudes):
        print(f"damping {point['damping']:.1f} k {point['k']}: {amplitude:.4f}")
