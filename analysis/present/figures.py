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
    """Put the figure's sources in small grey text under the axes.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    text : str
        The sources, shown after "Source: ".
    """
    fig.text(0.01, -0.02, f"Source: {text}", ha="left", va="top", fontsize=8, color="0.35", wrap=True)


_COUNTER = {"n": 0}  # figure numbers within one report (one kernel per report)


def finish(fig, title: str, source: str) -> None:
    """Number the figure, set its title, source line and tight layout in one call.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    title : str
        The title, shown after "Figure <n>. " (figures are numbered in order within one report's kernel).
    source : str
        The sources (see :func:`source_note`).
    """
    _COUNTER["n"] += 1
    fig._kz_number = _COUNTER["n"]
    fig.suptitle(f"Figure {_COUNTER['n']}. {title}", x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.tight_layout()
    source_note(fig, source)


def show(fig, alt: str) -> None:
    """Display a finished figure with its alternative text (what the figure shows, for readers who cannot see
    it).

    The text travels in the output's metadata (``image/png`` -> ``alt``) and the report template puts it on
    the image. The figure is closed afterwards, so the inline backend does not display it a second time.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure.
    alt : str
        What the figure shows, in words; prefixed with "Figure <n>: " when :func:`finish` numbered the figure.

    Raises
    ------
    ValueError
        When ``alt`` is empty or blank.
    """
    import matplotlib.pyplot as plt
    from IPython.display import display

    if not alt or not alt.strip():
        raise ValueError("a figure needs alternative text saying what it shows")
    number = getattr(fig, "_kz_number", None)
    text = f"Figure {number}: {alt.strip()}" if number else alt.strip()
    display(fig, metadata={"image/png": {"alt": text}})
    plt.close(fig)


def colors(n: int) -> list:
    """The first ``n`` colours of the report palette (seaborn's colour-blind-safe ``"colorblind"``).

    Parameters
    ----------
    n : int
        Number of colours.

    Returns
    -------
    list of tuple
        RGB colours (seaborn ``_ColorPalette``), cycling when ``n`` exceeds the palette's ten colours.

    References
    ----------
    .. [1] seaborn, "color_palette", https://seaborn.pydata.org/generated/seaborn.color_palette.html
    """
    return sns.color_palette(PALETTE, n)
