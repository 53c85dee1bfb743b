"""The studies and the notebooks that narrate them: the one place the report machinery learns about studies.

Importing this module is cheap (standard library only): the report builder uses the entries for cache keys and
the index without importing any statistics. ``load(name)`` imports a study module when it is needed.

Each entry names the study module, its notebook (stem in ``notebooks/``), the question it answers (the index groups
reports by it), whether the claim checker offers it, and the data files the study reads (file stems in ``data/``,
reference tables included; ``tests/conftest.py::run_declared`` checks each default run against it).
"""

from __future__ import annotations

import dataclasses
import importlib
from types import ModuleType


@dataclasses.dataclass(frozen=True)
class Entry:
    name: str
    module: str
    notebook: str
    question: str
    claim: bool = False  # offered by ``python -m analysis.claims <name>``
    data_files: tuple[str, ...] = ()


_REFERENCE = ("sources", "regions", "sectors")
# The files whose figures of one period must agree (analysis.data.loaders.check_across): loading any of them reads
# all four, so a study that loads one declares all four (tests/conftest.py::run_declared checks every study's reads).
_ACROSS = ("national_annual", "national_ytd", "regional", "sectoral")

STUDIES: dict[str, Entry] = {e.name: e for e in (
    Entry("overview", "analysis.studies.overview", "01_data_overview",
          "What do the data hold, and where does each figure come from?",
          data_files=(*_ACROSS, "workforce", "population", "events", "international", "region_aliases",
                      *_REFERENCE)),
    Entry("quarterly", "analysis.studies.quarterly", "02_quarterly_change",
          "Is a reported change between two periods real?", claim=True,
          data_files=(*_ACROSS, "workforce", "events", *_REFERENCE)),
    Entry("trend", "analysis.studies.trend", "03_five_year_trend",
          "Is a reported multi-year decline real?", claim=True,
          data_files=(*_ACROSS, "workforce", *_REFERENCE)),
    Entry("regional", "analysis.studies.regional", "04_regional_patterns",
          "Which regions really stand out?",
          data_files=(*_ACROSS, "population", "workforce", "events", "region_aliases", *_REFERENCE)),
    Entry("sectoral", "analysis.studies.sectoral", "05_sectoral_patterns",
          "Which sectors really stand out?",
          data_files=(*_ACROSS, "workforce", *_REFERENCE)),
    Entry("fatalities", "analysis.studies.fatalities", "06_fatalities",
          "What do deaths and mass-casualty events do to the picture?",
          data_files=(*_ACROSS, "events", *_REFERENCE)),
    Entry("ytd", "analysis.studies.ytd", "07_year_to_date_projection",
          "What does an early-year change imply for the year?", claim=True,
          data_files=(*_ACROSS, *_REFERENCE)),
    Entry("audit", "analysis.studies.audit", "08_claims_audit",
          "Which published claims hold up, tested the same way?",
          data_files=(*_ACROSS, "events", "workforce", *_REFERENCE)),
    Entry("completeness", "analysis.studies.completeness", "09_reporting_completeness",
          "Fewer injuries, or fewer recorded?",
          data_files=(*_ACROSS, "international", *_REFERENCE)),
)}


def entry(name: str) -> Entry:
    """The registry entry of a study; ``KeyError`` naming the known studies otherwise."""
    try:
        return STUDIES[name]
    except KeyError:
        raise KeyError(f"no study named {name!r} (known: {', '.join(STUDIES)})") from None


def for_notebook(stem: str) -> Entry | None:
    """The study a notebook narrates (None for a notebook that is not a registered study)."""
    return next((e for e in STUDIES.values() if e.notebook == stem), None)


def load(name: str) -> ModuleType:
    """Import a study module (with its ``Params`` and ``run``)."""
    return importlib.import_module(entry(name).module)
