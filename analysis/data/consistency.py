"""The rules that tie one period's Ministry figures together across files: one home for the release tool
(:func:`analysis.data.releases.add_release`) and the loaders (:func:`analysis.data.loaders.load_all` and the
per-file loaders of the national, regional and sectoral tables).

The figures of one period are keyed ``("national", measure)``, ``("regional", measure, region)`` and
``("sectoral", measure, sector)``. The rules:

- deaths not above the injured, nationally and in each region (the injured include the fatal);
- no region's count and no sector's count above the national total;
- the regions' counts not adding up to more than the national total;
- the sector shares of the injured not adding up to more than 100% beyond rounding (half a unit of each share's
  last published decimal: ``12`` allows 0.5, ``12.0`` allows 0.05).

They hold between the preferred Ministry figures of one period (``national_ytd`` for a quarter or a
year-to-date, ``national_annual`` for a year). BNS rows and non-preferred (documented conflict) rows are outside
them: BNS counts a different population (victims, by NACE sector) and a non-preferred row is by construction
the figure not used.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Figure:
    """One count or share of a period: its value as published, how messages name it, whether the release tool is
    adding it (else it is recorded in the data), and where it is recorded (file label, line) if it is."""

    value: Decimal
    name: str
    new: bool = False
    where: tuple[str, int] | None = None


@dataclass(frozen=True)
class Breach:
    """One broken rule: ``parts`` exceed ``limit_value``.

    ``kind`` is 'above' (one figure above another: ``parts`` has one figure, ``limit`` is the other) or 'sum'
    (``parts``, two or more, add up to ``total`` above ``limit_value``; ``limit`` is the national figure, or None
    for the 100% of the sector shares). ``limit_name`` names the limit, ``what`` the parts ('region', 'sector
    share'), ``why`` the rule.
    """

    kind: str
    parts: tuple[Figure, ...]
    limit: Figure | None
    limit_value: Decimal
    limit_name: str
    total: Decimal
    what: str
    why: str

    @property
    def involves_new(self) -> bool:
        """Whether a figure the release tool is adding takes part (the limit counts only when it is a figure)."""
        return any(f.new for f in self.parts) or (self.limit is not None and self.limit.new)


def _above(a: Figure | None, b: Figure | None, why: str) -> Iterator[Breach]:
    if a is not None and b is not None and a.value > b.value:
        yield Breach("above", (a,), b, b.value, b.name, a.value, "", why)


def _sum_above(parts: list[Figure], limit: Figure | None, limit_value: Decimal, limit_name: str, what: str,
               why: str) -> Iterator[Breach]:
    total = sum((f.value for f in parts), Decimal(0))
    if len(parts) >= 2 and total > limit_value:
        yield Breach("sum", tuple(parts), limit, limit_value, limit_name, total, what, why)


def share_rounding(shares: list[Figure]) -> Decimal:
    """Half a unit of each share's last published decimal, summed: what rounding lets the shares exceed 100%.

    Parameters
    ----------
    shares : list of Figure
        The sector shares of one period, values as published (``Decimal('12.0')`` keeps its decimal).

    Returns
    -------
    decimal.Decimal
        The allowance, e.g. 0.15 for three shares given to one decimal.
    """
    return sum((Decimal(5).scaleb(f.value.as_tuple().exponent - 1) for f in shares), Decimal(0))


def breaches(fig: Mapping[tuple, Figure]) -> Iterator[Breach]:
    """Every rule the figures of one period break, in a fixed order (national, regions, sectors, shares).

    Parameters
    ----------
    fig : mapping of tuple to Figure
        The period's figures keyed ``("national", measure)``, ``("regional", measure, region)``,
        ``("sectoral", measure, sector)``.

    Yields
    ------
    Breach
        One per broken rule; callers take the first (the loaders) or the first involving a new figure (the
        release tool).
    """
    injured, fatal = fig.get(("national", "injured")), fig.get(("national", "fatal"))
    yield from _above(fatal, injured, "the injured include the fatal")
    for measure, national in (("injured", injured), ("fatal", fatal)):
        regions = [f for k, f in sorted(fig.items()) if k[:2] == ("regional", measure)]
        for f in regions:
            yield from _above(f, national, "a region's count is part of the national total")
        if national is not None:
            yield from _sum_above(regions, national, national.value, national.name, "region",
                                  "the regions are parts of the national total")
    for (file, measure, *subject), f in sorted(fig.items()):
        if (file, measure) == ("regional", "fatal"):
            yield from _above(f, fig.get(("regional", "injured", *subject)), "the injured include the fatal")
        if (file, measure) == ("sectoral", "injured"):
            yield from _above(f, injured, "a sector's count is part of the national total")
    shares = [f for k, f in sorted(fig.items()) if k[:2] == ("sectoral", "share_pct")]
    rounding = share_rounding(shares)
    yield from _sum_above(shares, None, 100 + rounding, f"100% (+{rounding} for rounding)", "sector share",
                          "shares of the national injured")


def figure_key(file: str, row: Mapping) -> tuple:
    """The key of a row of ``national_ytd``/``national_annual``, ``regional`` or ``sectoral`` among its period's
    figures: ``("national", measure)``, ``("regional", measure, region)``, ``("sectoral", measure, sector)``.

    Parameters
    ----------
    file : str
        The file stem.
    row : mapping
        The row (needs ``measure``, and ``region`` or ``sector`` for the regional and sectoral files).

    Returns
    -------
    tuple
        The key used by :func:`breaches`.
    """
    f = "national" if file.startswith("national") else file
    subject = {"regional": "region", "sectoral": "sector"}.get(f)
    return (f, row["measure"]) + ((row[subject],) if subject else ())
