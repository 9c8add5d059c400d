"""Mask outlines: the outer polygon of each 4-connected region of a bool mask, optionally simplified.

Outlines run through pixel corners, clockwise on screen, so a polygon through them covers exactly
the region's pixels (pycocotools' convention); the demo dataset writes its COCO polygons with them.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


def mask_outlines(mask: Array, tolerance: float = 0.0) -> list[Array]:
    """The outer outline of each 4-connected region of ``mask`` (bool ``[H, W]``), holes left out.

    Each outline is int64 ``[N, 2]`` of ``(x, y)`` pixel corners, clockwise on screen, so a
    polygon through them covers exactly the region's pixels (pycocotools' convention). With
    ``tolerance > 0`` the outline is simplified (Douglas–Peucker, in px), keeping the exact
    outline of a region too small to simplify.
    """
    padded = np.pad(mask, 1)
    inside = padded[1:-1, 1:-1]
    # Directed edges between pixel corners with the region on their right: (x0, y0, dx, dy) per edge.
    edges = []
    for (dr, dc), (x0, y0), step in (((-1, 0), (0, 0), (1, 0)), ((0, 1), (1, 0), (0, 1)),
                                     ((1, 0), (1, 1), (-1, 0)), ((0, -1), (0, 1), (0, -1))):
        neighbour = padded[1 + dr:padded.shape[0] - 1 + dr, 1 + dc:padded.shape[1] - 1 + dc]
        rows, cols = np.nonzero(inside & ~neighbour)
        edges.append(np.stack([cols + x0, rows + y0, np.full_like(rows, step[0]), np.full_like(rows, step[1])], 1))
    outgoing: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for x, y, dx, dy in np.concatenate(edges).tolist():
        outgoing.setdefault((x, y), []).append((dx, dy))
    remaining = {vertex: list(steps) for vertex, steps in outgoing.items()}
    outlines = []
    while remaining:
        vertex, steps = next(iter(remaining.items()))
        first = (vertex, steps[0])
        step, heading, corners = steps[0], None, []
        while True:
            remaining[vertex].remove(step)
            if not remaining[vertex]:
                del remaining[vertex]
            if step != heading:
                corners.append(vertex)
            heading = step
            vertex = (vertex[0] + step[0], vertex[1] + step[1])
            choices = outgoing[vertex]
            # Where two pixels touch diagonally, turn right, which keeps them apart (4-connectivity).
            step = choices[0] if len(choices) == 1 else (-heading[1], heading[0])
            if (vertex, step) == first:
                break
        points = np.array(corners[1:] if heading == step else corners, dtype=np.int64)
        if _twice_area(points) > 0:
            simplified = _simplify(points, tolerance) if tolerance > 0 else points
            outlines.append(simplified if len(simplified) >= 3 and _twice_area(simplified) > 0 else points)
    return outlines


def _twice_area(points: Array) -> float:
    x, y = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _simplify(points: Array, tolerance: float) -> Array:
    """Douglas–Peucker on a closed outline, split at its first vertex and the vertex farthest from it."""
    far = int(np.argmax(((points - points[0]) ** 2).sum(1)))
    keep = np.zeros(len(points), dtype=bool)
    keep[[0, far]] = True
    ring = np.concatenate([points, points[:1]])
    stack = [(0, far), (far, len(points))]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        chord = ring[last] - ring[first]
        offsets = ring[first + 1:last] - ring[first]
        length = np.hypot(*chord)
        distance = np.abs(chord[0] * offsets[:, 1] - chord[1] * offsets[:, 0]) / length if length else np.hypot(*offsets.T)
        worst = int(np.argmax(distance))
        if distance[worst] > tolerance:
            middle = first + 1 + worst
            keep[middle % len(points)] = True
            stack += [(first, middle), (middle, last)]
    return points[keep]
