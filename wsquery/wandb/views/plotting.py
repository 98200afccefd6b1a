"""Logged points in, smoothed points and an inline SVG line chart out: W&B's line-plot smoothing
and the chart a view's page draws (axes with a few ticks, one ``<path>`` per line, a filled
``<path>`` per band). Apart from the page so the numbers can be checked without any HTML.

Smoothing, as W&B's documentation describes its kinds (``smoothingType``, with the weight
``smoothingWeight``); every kind keeps a line's x values:

- ``none``: the points as logged.
- ``exponential``: TensorBoard's exponential moving average, debiased: ``last = last * w +
  (1 - w) * y`` from ``last = 0``, each point ``last / (1 - w ** n)`` at the n-th point; ``w``
  is the weight, at most 0.999.
- ``exponentialTimeWeighted`` (W&B's default): the same average with ``w = sqrt(weight)`` (at
  most 0.999), decaying by how far x moved: ``w ** (dx / x span * TIME_WEIGHT_SCALE)``, so lines
  of different densities smooth alike. W&B does not publish its scale; wsquery takes 1000 (a
  chart of 1000 evenly spaced points smooths as the plain average).
- ``gaussian``: each point the average of all points weighted by a normal density of their x
  distance, whose standard deviation is the weight, in x units.
- ``average``: each point the mean of a window of ``weight`` points (rounded) around it, as
  many before as after (one more after for an even window), cut at the line's ends.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from html import escape

import attrs

#: ``exponentialTimeWeighted``: how many steps of decay one chart width holds.
TIME_WEIGHT_SCALE = 1000.0
#: The heaviest exponential weight, so a line never stops following its points.
MAX_EXPONENTIAL_WEIGHT = 0.999
#: How many standard deviations of neighbours a gaussian point averages over.
GAUSSIAN_REACH = 4.0

#: The chart's size in SVG units (it scales to its panel's width) and its margins.
WIDTH, HEIGHT = 300.0, 180.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 8.0, 6.0, 32.0

Point = tuple[float, float]


def smoothed(points: Sequence[Point], kind: str, weight: float) -> list[Point]:
    """``points`` (sorted by x) smoothed by ``kind`` with ``weight``; an unknown kind or a
    weight of 0 leaves them as they are."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    if not points or weight <= 0:
        return list(points)
    match kind:
        case "exponential":
            values = exponential(ys, weight)
        case "exponentialTimeWeighted":
            values = time_weighted(xs, ys, weight)
        case "gaussian":
            values = gaussian(xs, ys, weight)
        case "average":
            values = running_average(ys, weight)
        case _:
            values = ys
    return list(zip(xs, values, strict=True))


def exponential(ys: Sequence[float], weight: float) -> list[float]:
    """TensorBoard's debiased exponential moving average."""
    w = min(weight, MAX_EXPONENTIAL_WEIGHT)
    last, values = 0.0, []
    for count, y in enumerate(ys, 1):
        last = last * w + (1 - w) * y
        values.append(last / (1 - w ** count))
    return values


def time_weighted(xs: Sequence[float], ys: Sequence[float], weight: float) -> list[float]:
    """W&B's time-weighted exponential moving average (TWEMA)."""
    w = min(math.sqrt(weight), MAX_EXPONENTIAL_WEIGHT)
    span = (xs[-1] - xs[0]) or 1.0
    last, debias, values = 0.0, 0.0, []
    for index, y in enumerate(ys):
        step = (xs[index] - xs[max(index - 1, 0)]) / span * TIME_WEIGHT_SCALE
        decay = w ** step
        last = last * decay + y
        debias = debias * decay + 1
        values.append(last / debias)
    return values


def gaussian(xs: Sequence[float], ys: Sequence[float], deviation: float) -> list[float]:
    """Gaussian kernel smoothing over x, ``deviation`` in x units."""
    values = []
    reach = GAUSSIAN_REACH * deviation
    for x in xs:
        low, high = bisect_left(xs, x - reach), bisect_right(xs, x + reach)
        weights = [math.exp(-((xs[j] - x) ** 2) / (2 * deviation ** 2)) for j in range(low, high)]
        values.append(sum(w * ys[j] for w, j in zip(weights, range(low, high), strict=True))
                      / sum(weights))
    return values


def running_average(ys: Sequence[float], window: float) -> list[float]:
    """The mean of ``window`` points around each point, cut at the ends."""
    size = max(round(window), 1)
    before, after = (size - 1) // 2, size // 2
    values = []
    for index in range(len(ys)):
        part = ys[max(index - before, 0):index + after + 1]
        values.append(sum(part) / len(part))
    return values


def ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) from ``low`` to ``high``, at most
    ``most`` of them."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low] if math.isfinite(low) else []
    raw = (high - low) / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * factor for factor in (1, 2, 2.5, 5, 10) if power * factor >= raw)
    first = math.ceil(low / step - 1e-9)
    values = [(first + index) * step for index in range(most + 1)]
    return [round(value, 12) for value in values if value <= high + step * 1e-9][:most]


def tick_label(value: float, step: float) -> str:
    """A tick's value with as many decimals as the ticks' spacing needs."""
    if value != 0 and not 1e-4 <= abs(value) < 1e7:
        return f"{value:.3g}"
    decimals = next((places for places in range(12)
                     if abs(round(step, places) - step) <= step * 1e-6), 12)
    return f"{value:.{decimals}f}"


@attrs.frozen
class Line:
    """One drawn line: its points, color and dash, and what it is (``data-*`` attributes)."""

    points: list[Point]
    color: str
    data: dict[str, str]
    dashed: bool = False


@attrs.frozen
class Band:
    """A filled area between ``lows`` and ``highs`` over the same x values."""

    lows: list[Point]
    highs: list[Point]
    color: str
    data: dict[str, str]


@attrs.frozen
class Bounds:
    """The chart's x and y ranges; a bound left None follows the data."""

    x_min: float | None = None
    x_max: float | None = None
    y_min: float | None = None
    y_max: float | None = None


def line_chart(lines: Sequence[Line], bands: Sequence[Band], bounds: Bounds, *,
               x_title: str, y_title: str) -> str:
    """An inline SVG chart of ``lines`` over ``bands``, clipped to ``bounds`` (points outside
    are drawn and cut at the plot's edge, so a line leaves the chart where it crosses it)."""
    every = [point for line in lines for point in line.points]
    every += [point for band in bands for point in (*band.lows, *band.highs)]
    x_low, x_high = _extent([x for x, _ in every], bounds.x_min, bounds.x_max)
    shown = [y for x, y in every if x_low <= x <= x_high] or [y for _, y in every]
    y_low, y_high = _extent(shown, bounds.y_min, bounds.y_max, pad=0.05)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def place(point: Point) -> str:
        x, y = point
        return (f"{(x - x_low) / (x_high - x_low) * inner_w:.2f},"
                f"{inner_h - (y - y_low) / (y_high - y_low) * inner_h:.2f}")

    def trace(points: Sequence[Point]) -> str:
        return "M" + " L".join(place(point) for point in points)

    def attributes(data: dict[str, str]) -> str:
        return "".join(f' data-{name}="{escape(value)}"' for name, value in data.items())

    drawn = [f'<path class="band" d="{trace(band.highs)} L'
             f'{" L".join(place(point) for point in reversed(band.lows))} Z" '
             f'fill="{escape(band.color)}" fill-opacity="0.18" stroke="none"'
             f"{attributes(band.data)}/>" for band in bands if band.highs]
    dash = ' stroke-dasharray="5 3"'
    drawn += [f'<path class="line" d="{trace(line.points)}" fill="none" '
              f'stroke="{escape(line.color)}" stroke-width="1.6" stroke-linejoin="round"'
              f"{dash if line.dashed else ''}{attributes(line.data)}/>"
              for line in lines if line.points]
    x_ticks, y_ticks = ticks(x_low, x_high), ticks(y_low, y_high, 5)
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else x_high - x_low
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else y_high - y_low
    axis = [f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{LEFT + inner_w}" '
            f'y2="{TOP + inner_h}" stroke="#b8bcc2"/>',
            f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + inner_h}" stroke="#b8bcc2"/>']
    for value in x_ticks:
        left = LEFT + (value - x_low) / (x_high - x_low) * inner_w
        axis.append(f'<line x1="{left:.2f}" y1="{TOP + inner_h}" x2="{left:.2f}" '
                    f'y2="{TOP + inner_h + 4}" stroke="#b8bcc2"/><text class="tick" '
                    f'x="{left:.2f}" y="{TOP + inner_h + 14}" text-anchor="middle">'
                    f"{escape(tick_label(value, x_step))}</text>")
    for value in y_ticks:
        top = TOP + inner_h - (value - y_low) / (y_high - y_low) * inner_h
        axis.append(f'<line x1="{LEFT}" y1="{top:.2f}" x2="{LEFT + inner_w}" y2="{top:.2f}" '
                    f'stroke="#eef0f3"/><text class="tick" x="{LEFT - 4}" y="{top + 4:.2f}" '
                    f'text-anchor="end">{escape(tick_label(value, y_step))}</text>')
    axis.append(f'<text class="axis-title" x="{LEFT + inner_w / 2}" y="{HEIGHT - 3}" '
                f'text-anchor="middle">{escape(x_title)}</text>')
    if y_title:
        axis.append(f'<text class="axis-title" x="10" y="{TOP + inner_h / 2}" '
                    f'text-anchor="middle" transform="rotate(-90 10 {TOP + inner_h / 2})">'
                    f"{escape(y_title)}</text>")
    return (f'<svg class="chart" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" role="img" '
            f'aria-label="{escape(y_title or "values")} over {escape(x_title)}" '
            f'xmlns="http://www.w3.org/2000/svg">{"".join(axis)}'
            f'<svg class="plot" x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" '
            f'overflow="hidden">{"".join(drawn)}</svg></svg>')


def _extent(values: Sequence[float], low: float | None, high: float | None,
            pad: float = 0.0) -> tuple[float, float]:
    """The range a chart axis shows: the given bounds, else the values' (padded by ``pad`` of
    their span), never empty."""
    data_low = min(values, default=0.0)
    data_high = max(values, default=1.0)
    margin = (data_high - data_low) * pad
    start = low if low is not None else data_low - margin
    end = high if high is not None else data_high + margin
    if end <= start:
        middle = start if low is not None else end
        half = abs(middle) * 0.05 or 0.5
        start, end = (start, start + 2 * half) if low is not None else (middle - half,
                                                                         middle + half)
    return start, end
