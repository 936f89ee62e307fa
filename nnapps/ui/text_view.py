"""Text shown with each word tinted by how much it moved a model's prediction."""

import html

from nnapps.analysis.explain import WordEffect

POSITIVE, NEGATIVE = (21, 101, 192), (198, 40, 40)  # blue raises the class, red lowers it


def highlighted_html(text: str, effects: list[WordEffect], scale: float | None = None) -> str:
    """Safe HTML for text (escaped: it is the user's) with a tint per word from its effect."""
    scale = scale or max((abs(e.effect) for e in effects), default=0.0) or 1.0
    parts, cursor = [], 0
    for e in effects:
        parts.append(html.escape(text[cursor:e.start]))
        colour = POSITIVE if e.effect >= 0 else NEGATIVE
        alpha = min(abs(e.effect) / scale, 1.0) * 0.85
        parts.append(f'<span title="{e.effect:+.3f}" style="background: rgba({colour[0]},{colour[1]},'
                     f'{colour[2]},{alpha:.2f}); padding: 1px 3px; border-radius: 3px">'
                     f"{html.escape(text[e.start:e.end])}</span>")
        cursor = e.end
    parts.append(html.escape(text[cursor:]))
    return "".join(parts)
