"""Helper package for the Kazakhstan occupational-injury notebooks.

Layers, nothing pointing back (``tests/test_architecture.py`` enforces the import rules)::

    core        results base, validation, parameters, study results, formatting policy, atomic I/O, paths
    stats       pure statistics: numbers in, result objects out               (imports core)
    data        schemas, validated loaders, derived figures, geography        (imports core)
    present     figures, tables, escaping, report header and verdict          (imports core)
    studies     one module per question: Params + run() -> StudyResult        (imports core, stats, data)
    reporting   runner, build, index, claim checker                           (core, present, studies.registry)
"""

__version__ = "0.2.0"
