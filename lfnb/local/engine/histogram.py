"""ClickHouse's ``histogram(bins)`` aggregate (adaptive bins, Ben-Haim & Tom-Tov), in Python.

Values are added one by one as weighted points; whenever ``2 * bins`` points
are held, equal points are merged and the closest neighbours are merged until
at most ``bins`` remain. The result has one ``[lower, upper, height]`` triple
per remaining point: bounds are midpoints between neighbouring means (the
first/last bound is the minimum/maximum value) and the height is a linear
density estimate, hence possibly fractional (facts §2.8).

ClickHouse adds values in storage/thread order; lfnb.local adds them in
ascending order so results are deterministic. With at most ``bins`` distinct
values every value is its own bin and the result does not depend on order.
"""

from __future__ import annotations

import heapq
import math


def _unique(points: list[list[float]]) -> list[list[float]]:
    points.sort(key=lambda p: p[0])
    out: list[list[float]] = []
    for mean, weight in points:
        if out and out[-1][0] == mean:
            out[-1][1] += weight
        else:
            out.append([mean, weight])
    return out


def _compress(points: list[list[float]], max_bins: int) -> list[list[float]]:
    points.sort(key=lambda p: p[0])
    n = len(points)
    if n <= max_bins:
        return points
    left = list(range(-1, n - 1))
    right = list(range(1, n + 1))
    right[-1] = -1
    active = [True] * n
    heap = [(points[i + 1][0] - points[i][0], i) for i in range(n - 1)]
    heapq.heapify(heap)
    size = n
    while size > max_bins and heap:
        quality, i = heapq.heappop(heap)
        j = right[i] if active[i] else -1
        if j == -1 or not active[j] or points[j][0] - points[i][0] > quality:
            continue  # stale entry
        m1, w1 = points[i]
        m2, w2 = points[j]
        points[i] = [(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2]
        active[j] = False
        right[i] = right[j]
        if right[j] != -1:
            left[right[j]] = i
        size -= 1
        if right[i] != -1:
            heapq.heappush(heap, (points[right[i]][0] - points[i][0], i))
        if left[i] != -1:
            heapq.heappush(heap, (points[i][0] - points[left[i]][0], left[i]))
    return [p for p, a in zip(points, active) if a]


def histogram(values: list[float], bins: int) -> list[list[float]]:
    """``histogram(bins)(values)`` as a list of ``[lower, upper, height]``."""
    points: list[list[float]] = []
    lower, upper = math.inf, -math.inf
    for value in values:
        if not math.isfinite(value):
            continue
        points.append([float(value), 1.0])
        lower, upper = min(lower, value), max(upper, value)
        if len(points) >= bins * 2:
            points = _compress(_unique(points), bins)
    points = _unique(_compress(points, bins))
    out = []
    for i, (mean, weight) in enumerate(points):
        lo = lower if i == 0 else (mean + points[i - 1][0]) / 2
        hi = upper if i + 1 == len(points) else (mean + points[i + 1][0]) / 2
        w_lo = weight if i == 0 else (points[i - 1][1] + weight * 3) / 4
        w_hi = weight if i + 1 == len(points) else (points[i + 1][1] + weight * 3) / 4
        out.append([float(lo), float(hi), (w_lo + w_hi) / 2])
    return out
