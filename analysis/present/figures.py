"""Figure conventions shared by the notebooks: colour-blind-safe palette, titles, source line under each figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

PALETTE = "colorblind"


def setup() -> None:
    """Seaborn theme used by every report; inline figures inside a kernel even when MPLBACKEND says otherwise."""
    try:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None and getattr(ip, "kernel", None) is not None:
            ip.run_line_magic("matplotlib", "inline")
    except ImportError:  # pragma: no cover - IPython is a dependency
        pass
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc={"figure.dpi": 100, "savefig.dpi": 100})
    plt.rcParams["figure.figsize"] = (8.5, 4.8)


def source_note(fig, text: str) -> None:
    """Put the figure's sources in small grey text under the axes."""
    fig.text(0.01, -0.02, f"Source: {text}", ha="left", va="top", fontsize=8, color="0.35", wrap=True)


def finish(fig, title: str, source: str) -> None:
    """Title, source line and tight layout in one call."""
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    source_note(fig, source)


def colors(n: int) -> list:
    return sns.color_palette(PALETTE, n)
