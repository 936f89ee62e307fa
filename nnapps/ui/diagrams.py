"""Architecture diagrams as Graphviz DOT text (drawn by st.graphviz_chart in the browser)."""

from nnapps.analysis.inside import Layer

MAX_NEURONS = 6  # drawn per dense layer; the rest stand behind an ellipsis


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape)) if shape else "?"


def neurons_dot(sizes: list[int], activations: list[str]) -> str:
    """Layers of neurons, every neuron joined to every neuron of the next layer."""
    lines = ["digraph {", "rankdir=LR; splines=false; nodesep=0.12; ranksep=1.1;",
             'node [shape=circle, label="", width=0.22, style=filled, fillcolor="#9db4c0", color="#5c6b73"];',
             'edge [color="#c2cfd6", arrowhead=none];']
    names = []
    for i, size in enumerate(sizes):
        kind = "input" if i == 0 else ("output" if i == len(sizes) - 1 else "hidden")
        title = f"{kind} {size}" + (f" ({activations[i - 1]})" if 0 < i < len(sizes) - 1 and activations[i - 1] else "")
        shown = [f"n{i}_{j}" for j in range(min(size, MAX_NEURONS))]
        lines.append(f'subgraph cluster_{i} {{ label="{title}"; color="#eef2f5"; style=filled; fillcolor="#f7f9fa";')
        fill = "#e4572e" if kind == "output" else "#9db4c0"
        lines += [f'{n} [fillcolor="{fill}"];' for n in shown]
        if size > MAX_NEURONS:
            lines.append(f'n{i}_more [shape=plaintext, label="... {size - MAX_NEURONS} more", style=""];')
            shown.append(f"n{i}_more")
        lines.append("}")
        names.append(shown)
    for a, b in zip(names, names[1:]):
        lines += [f"{x} -> {y};" for x in a if not x.endswith("more") for y in b if not y.endswith("more")]
    lines.append("}")
    return "\n".join(lines)


def unrolled_dot(cell: str, steps: int, state_shape: tuple[int, ...], n_classes: int) -> str:
    """A recurrent layer unrolled over its first steps: the same cell reads each step and hands
    its memory on; the last memory makes the prediction."""
    lines = ["digraph {", "rankdir=TB; nodesep=0.5; ranksep=0.4;",
             'node [shape=box, style="rounded,filled", fillcolor="#f7f9fa", color="#5c6b73"];']
    for t in range(1, steps + 1):
        lines.append(f'x{t} [label="input {t}", shape=plaintext, style=""];')
        lines.append(f'c{t} [label="{cell}"];')
        lines.append(f"x{t} -> c{t};")
        if t > 1:
            lines.append(f'c{t - 1} -> c{t} [label="memory"];')
    lines.append('more [label="...", shape=plaintext, style=""];')
    lines.append(f'c{steps} -> more [label="memory"];')
    lines.append(f'out [label="Linear to {n_classes} classes", fillcolor="#fde2dd"];')
    lines.append(f'more -> out [label="last memory {_shape(state_shape)}"];')
    # The inputs on one row, the cell's steps on the row below, reading left to right.
    lines.append("{rank=same; " + " ".join(f"x{t};" for t in range(1, steps + 1)) + "}")
    lines.append("{rank=same; " + " ".join(f"c{t};" for t in range(1, steps + 1)) + " more; out;}")
    lines.append("}")
    return "\n".join(lines)


def chain_dot(layers: list[Layer]) -> str:
    """Each layer that computes something as a box with its output shape, in order."""
    lines = ["digraph {", "rankdir=TB; nodesep=0.2; ranksep=0.25;",
             'node [shape=box, style="rounded,filled", fillcolor="#f7f9fa", color="#5c6b73", fontsize=11];']
    shown = [layer for layer in layers if layer.kind not in ("SeededDropout", "Flatten", "Dropout")]
    for i, layer in enumerate(shown):
        fill = "#e3ecf1" if layer.params else ("#fff4d6" if layer.activation else "#f7f9fa")
        lines.append(f'l{i} [label="{layer.kind}\\n{_shape(layer.output_shape)}", fillcolor="{fill}"];')
        if i:
            lines.append(f"l{i - 1} -> l{i};")
    lines.append("}")
    return "\n".join(lines)
