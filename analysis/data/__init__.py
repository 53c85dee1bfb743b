"""The data layer: schemas, validated loaders, derived figures, geography (regions, aliases, the 2022 reform).

Imports only ``analysis.core``. ``from analysis import data`` then ``data.national_series(...)``.

Modules: :mod:`~analysis.data.schemas` (the rules every file obeys, one home), :mod:`~analysis.data.loaders`
(lazy per-file validated loading, cache, :func:`track_reads`), :mod:`~analysis.data.derived` (figures computed
from the published ones), :mod:`~analysis.data.geography`, :mod:`~analysis.data.releases` (``python -m
analysis.releases add``).
"""

from analysis.core.paths import DATA_DIR
from analysis.data.derived import (
    implied_workers,
    load_national_annual,
    load_national_ytd,
    national_series,
    national_total,
    published_changes,
    workers_for_years,
    workforce_value,
)
from analysis.data.geography import (
    NEW_REGIONS_2022,
    borders_of,
    canonical_region,
    harmonise_to_pre2022,
    pre2022_region,
)
from analysis.data.international import load_international
from analysis.data.loaders import (
    load_all,
    load_events,
    load_population,
    load_region_aliases,
    load_regional,
    load_regions,
    load_sectoral,
    load_sectors,
    load_sources,
    load_workforce,
    track_reads,
)
from analysis.data.schemas import (
    ABS_MEASURES,
    COUNT_MEASURES,
    DATA_FILES,
    MAX_COUNT,
    MAX_PEOPLE,
    NATIONAL_MEASURES,
    PCT_MEASURES,
    PERIOD_RE,
    SYSTEMS,
    DataError,
    canonical_period,
    file_dependencies,
    period_months,
    shift_period,
)

__all__ = [
    "load_international",
    "DATA_DIR",
    "ABS_MEASURES",
    "COUNT_MEASURES",
    "DATA_FILES",
    "DataError",
    "MAX_COUNT",
    "MAX_PEOPLE",
    "NATIONAL_MEASURES",
    "NEW_REGIONS_2022",
    "PCT_MEASURES",
    "PERIOD_RE",
    "SYSTEMS",
    "borders_of",
    "canonical_period",
    "canonical_region",
    "file_dependencies",
    "harmonise_to_pre2022",
    "implied_workers",
    "load_all",
    "load_events",
    "load_national_annual",
    "load_national_ytd",
    "load_population",
    "load_region_aliases",
    "load_regional",
    "load_regions",
    "load_sectoral",
    "load_sectors",
    "load_sources",
    "load_workforce",
    "national_series",
    "national_total",
    "period_months",
    "pre2022_region",
    "published_changes",
    "shift_period",
    "track_reads",
    "workers_for_years",
    "workforce_value",
]
