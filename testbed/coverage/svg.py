"""Draw the state machine as SVG, with covered transitions marked and uncovered ones highlighted.

A layered layout computed here (no Graphviz, no script): states go down by their longest
distance from StartAt; each edge is a curve with its label, Retry rules are loops on the
state's right. Every state is a `<g class="state ..." data-state=...>` and every transition a
`<g class="edge ..." data-edge=...>`, so a test (or a person with the browser's inspector)
can check the drawing against the ASL.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from testbed.coverage.graph import Edge, Graph

NODE_W, NODE_H = 240, 46
H_GAP, V_GAP, MARGIN = 70, 96, 40
LOOP_ROOM = 230  # space right of the widest layer for Retry loops and their labels
COVERED, UNCOVERED = "#2e7d32", "#c62828"


def levels(graph: Graph) -> dict[str, int]:
    """Longest distance from StartAt over non-retry edges (bounded, so cycles cannot loop forever)."""
    level = {graph.start: 0}
    for _ in range(len(graph.states)):
        changed = False
        for edge in graph.edges:
            if edge.kind == "retry" or edge.source not in level:
                continue
            wanted = level[edge.source] + 1
            if wanted < len(graph.states) and level.get(edge.target, -1) < wanted:
                level[edge.target] = wanted
                changed = True
        if not changed:
            break
    deepest = max(level.values())
    for name in graph.states:  # unreachable states: a row of their own at the bottom
        level.setdefault(name, deepest + 1)
    return level


def positions(graph: Graph) -> dict[str, tuple[float, float]]:
    level = levels(graph)
    rows: dict[int, list[str]] = defaultdict(list)
    for name in graph.states:  # ASL order within a row
        rows[level[name]].append(name)
    widest = max(len(row) for row in rows.values())
    width = widest * NODE_W + (widest - 1) * H_GAP
    placed: dict[str, tuple[float, float]] = {}
    for row, names in rows.items():
        row_width = len(names) * NODE_W + (len(names) - 1) * H_GAP
        left = MARGIN + (width - row_width) / 2
        for index, name in enumerate(names):
            placed[name] = (left + index * (NODE_W + H_GAP), MARGIN + row * (NODE_H + V_GAP))
    return placed


def draw(graph: Graph, edge_counts: dict[str, int], state_counts: dict[str, int]) -> str:
    placed = positions(graph)
    width = max(x for x, _ in placed.values()) + NODE_W + LOOP_ROOM + MARGIN
    height = max(y for _, y in placed.values()) + NODE_H + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
        "<defs>",
        *(f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
          f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{colour}"/></marker>'
          for name, colour in (("covered", COVERED), ("uncovered", UNCOVERED))),
        "</defs>",
    ]
    parts += _edges(graph, placed, edge_counts)
    for name, state in graph.states.items():
        x, y = placed[name]
        count = state_counts.get(name, 0)
        mark = "covered" if count else "uncovered"
        fill, stroke = ("#e8f5e9", COVERED) if count else ("#ffebee", UNCOVERED)
        parts.append(
            f'<g class="state {mark}" data-state="{escape(name)}" data-executions="{count}">'
            f"<title>{escape(name)} ({escape(state.type)}): entered by {count} executions</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="{22 if state.terminal else 8}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{1.5 if count else 2.5}"/>'
            f'<text x="{x + NODE_W / 2:.1f}" y="{y + 19:.1f}" text-anchor="middle" font-weight="bold">'
            f"{escape(name)}</text>"
            f'<text x="{x + NODE_W / 2:.1f}" y="{y + 35:.1f}" text-anchor="middle" fill="#555">'
            f"{escape(state.type)} · {count} runs</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _edges(graph: Graph, placed: dict[str, tuple[float, float]], counts: dict[str, int]) -> list[str]:
    between: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    loops: dict[str, list[Edge]] = defaultdict(list)
    for edge in graph.edges:
        (loops[edge.source] if edge.kind == "retry" else between[(edge.source, edge.target)]).append(edge)
    drawn: list[str] = []
    level = levels(graph)
    detours = 0
    for (source, target), edges in between.items():
        (sx, sy), (tx, ty) = placed[source], placed[target]
        for index, edge in enumerate(edges):
            shift = (index - (len(edges) - 1) / 2) * 46
            anchor = "end" if shift < 0 else "start"
            if level[target] <= level[source] or level[target] - level[source] > 1:
                # upwards, sideways or over other rows: round the right of the states in between
                rows = range(min(level[source], level[target]), max(level[source], level[target]) + 1)
                right = max(x + NODE_W for name, (x, _) in placed.items() if level[name] in rows)
                route = right + 60 + detours * 28
                detours += 1
                x1, y1, x2, y2 = sx + NODE_W - 24 - index * 12, sy + NODE_H, tx + NODE_W, ty + NODE_H / 2
                path = (f"M {x1:.1f} {y1:.1f} Q {route:.1f} {y1:.1f} {route:.1f} {y1 + 40:.1f} "
                        f"L {route:.1f} {y2 - 30:.1f} Q {route:.1f} {y2:.1f} {x2:.1f} {y2:.1f}")
                label, anchor = (route - 4, (y1 + y2) / 2), "end"
            else:
                x1, y1 = sx + NODE_W / 2 + shift, sy + NODE_H
                x2, y2 = tx + NODE_W / 2 + shift, ty
                bend = (y2 - y1) / 2
                path = f"M {x1:.1f} {y1:.1f} C {x1:.1f} {y1 + bend:.1f} {x2:.1f} {y2 - bend:.1f} {x2:.1f} {y2:.1f}"
                # the label sits 62% down the curve, beside it: fanned-out edges are apart there
                if abs(x2 - x1) > 10:
                    anchor = "end" if x2 < x1 else "start"
                t = 0.62
                along = (1 - t) ** 3 + 3 * (1 - t) ** 2 * t  # weight of x1 (x2 gets the rest)
                label = (along * x1 + (1 - along) * x2 + (-6 if anchor == "end" else 6),
                         along * (y1 + bend * 0.4) + (1 - along) * (y2 - bend * 0.4))
            drawn.append(_edge(edge, path, label, counts.get(edge.id, 0), anchor))
    for source, edges in loops.items():
        x, y = placed[source]
        for index, edge in enumerate(edges):
            reach = 40 + index * 26
            top, bottom = y + 8 + index * 4, y + NODE_H - 8 - index * 4
            path = (f"M {x + NODE_W:.1f} {top:.1f} C {x + NODE_W + reach:.1f} {top - 14:.1f} "
                    f"{x + NODE_W + reach:.1f} {bottom + 14:.1f} {x + NODE_W:.1f} {bottom:.1f}")
            drawn.append(_edge(edge, path, (x + NODE_W + reach * 0.75 + 4, y + 4 + index * 40), counts.get(edge.id, 0)))
    return drawn


def _edge(edge: Edge, path: str, label: tuple[float, float], count: int, anchor: str = "start") -> str:
    mark = "covered" if count else "uncovered"
    colour = COVERED if count else UNCOVERED
    dash = "" if count else ' stroke-dasharray="7 4"'
    text = f"{edge.label} ({count})" if count else f"{edge.label} (never taken)"
    return (
        f'<g class="edge {mark}" data-edge="{escape(edge.id)}" data-from="{escape(edge.source)}" '
        f'data-to="{escape(edge.target)}" data-executions="{count}">'
        f"<title>{escape(edge.id)}: {escape(edge.source)} → {escape(edge.target)}, taken by {count} executions</title>"
        f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{2 if count else 3}"{dash} '
        f'marker-end="url(#arrow-{mark})"/>'
        f'<text x="{label[0]:.1f}" y="{label[1]:.1f}" fill="{colour}" text-anchor="{anchor}">'
        f"{escape(_short(text))}</text></g>"
    )


def _short(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
