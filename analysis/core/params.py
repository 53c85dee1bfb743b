"""Study parameters declared once.

A study declares its parameters as a frozen dataclass deriving :class:`Params`, one :func:`param` per field::

    @dataclasses.dataclass(frozen=True)
    class Params(core.Params):
        period: str = param("2025-Q1", "the release's period, e.g. 2025-Q1 or 2019", cli=("--period",))
        alpha: float = param(0.05, "significance level of every test", check=validate.alpha)

        def check(self) -> None:  # rules that involve several parameters
            ...

That declaration is the only one. Everything else follows it:

- the notebook's ``parameters`` cell is :meth:`Params.notebook_cell` verbatim (a test compares them, and
  ``scripts/sync_parameters.py`` rewrites the cells);
- the notebook's validation cell is ``p = Params.from_notebook(globals())``: types, checks and cross-field rules,
  and names papermill injected that are not parameters, each refused with one message naming the parameter;
- the claim checker's options and ``--help`` are generated from the fields (:meth:`Params.add_arguments`);
- the results JSON echoes :meth:`Params.to_dict`.

Types understood: ``int``, ``float``, ``str``, ``bool``, ``list[str]``, ``list[int]`` and ``Optional[...]`` of any
of these. Text parameters also accept an integer (papermill passes ``-p period 2024`` as an int); floats accept
integers. Nothing else is coerced.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import numbers
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

_MISSING = dataclasses.MISSING
_PAPERMILL_HEADER = "# Parameters"  # papermill starts the cell it injects with this comment


class ParameterError(ValueError):
    """A parameter is missing, unknown, of the wrong type or out of range; ``name`` is the parameter's name."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(message)


@dataclasses.dataclass(frozen=True)
class ParamInfo:
    """What :func:`param` records about one parameter (kept in the dataclass field's metadata)."""

    help: str
    check: Callable[[str, Any], Any] | None = None
    choices: tuple | None = None
    cli: tuple[str, ...] = ()
    cli_required: bool = False


def param(default, help: str, *, check: Callable[[str, Any], Any] | None = None, choices: Iterable | None = None,
          cli: Iterable[str] = (), cli_required: bool = False):
    """Declare one study parameter.

    Parameters
    ----------
    default
        The value the notebook's ``parameters`` cell shows and the default report uses. Lists are copied per
        instance.
    help : str
        One line shown as the parameter cell's comment and in ``--help``. No ``=`` (papermill's parser would cut it).
    check : callable, optional
        ``check(name, value)`` raising ``ValueError`` naming the parameter (the functions of
        ``analysis.core.validate`` have this signature). Not called for ``None``.
    choices : iterable, optional
        The allowed values.
    cli : iterable of str, optional
        Extra option strings for the claim checker (e.g. ``("--current",)``); ``--<name-with-dashes>`` always works.
    cli_required : bool
        The claim checker requires the option even though the notebook has a default (labels and periods, whose
        notebook default would silently mislabel another claim).

    Returns
    -------
    dataclasses.Field
    """
    if "=" in help or "\n" in help:
        raise ValueError(f"parameter help must be one line without '=' (papermill cannot parse it): {help!r}")
    info = ParamInfo(help=help, check=check, choices=None if choices is None else tuple(choices), cli=tuple(cli),
                     cli_required=cli_required)
    if isinstance(default, list):
        frozen = list(default)
        return dataclasses.field(default_factory=lambda: list(frozen), metadata={"param": info})
    return dataclasses.field(default=default, metadata={"param": info})


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """One parameter as the notebook, the CLI and the JSON see it."""

    name: str
    type: Any
    default: Any
    info: ParamInfo

    @property
    def optional(self) -> bool:
        return _is_optional(self.type)

    @property
    def base(self) -> Any:
        return _strip_optional(self.type)

    @property
    def annotation(self) -> str:
        """The annotation as written in the notebook (``Optional[int]``, ``list[str]``, ``float``)."""
        text = _type_text(self.base)
        return f"Optional[{text}]" if self.optional else text


def _is_optional(tp) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in typing.get_args(tp)


def _strip_optional(tp):
    if _is_optional(tp):
        rest = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"unsupported parameter type {tp!r}")
        return rest[0]
    return tp


def _type_text(tp) -> str:
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        return f"list[{item.__name__}]"
    return tp.__name__


def _type_word(value) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, numbers.Integral):
        return "an integer"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _coerce(spec: ParamSpec, value):
    """``value`` as the parameter's type, or ParameterError naming the parameter and the type it was given."""
    name = spec.name
    if value is None:
        if spec.optional:
            return None
        raise ParameterError(name, f"{name} must not be None (it has no 'not given' meaning)")
    base = spec.base
    expected = spec.annotation
    got = f"got {value!r} ({_type_word(value)})"
    if base is bool:
        if isinstance(value, bool):
            return value
        raise ParameterError(name, f"{name} must be True or False, {got}")
    if base is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise ParameterError(name, f"{name} must be an integer ({expected}), {got}")
    if base is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            v = float(value)
            if not math.isfinite(v):
                raise ParameterError(name, f"{name} must be a finite number, {got}")
            return v
        raise ParameterError(name, f"{name} must be a number ({expected}), {got}")
    if base is str:
        if isinstance(value, str):
            return value
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return str(value)  # papermill -p period 2024 passes an int
        raise ParameterError(name, f"{name} must be text ({expected}), {got}")
    if typing.get_origin(base) is list:
        (item,) = typing.get_args(base)
        if not isinstance(value, (list, tuple)):
            raise ParameterError(name, f"{name} must be a list ({expected}), {got}")
        item_spec = ParamSpec(f"{name}[]", item, None, spec.info)
        out = []
        for i, v in enumerate(value):
            try:
                out.append(_coerce(item_spec, v))
            except ParameterError as exc:
                raise ParameterError(name, f"{name}[{i}]: {exc}") from None
        return out
    raise TypeError(f"{name}: unsupported parameter type {spec.type!r}")


@dataclasses.dataclass(frozen=True)
class Params:
    """Base of every study's parameters (see the module docstring). Subclasses are frozen dataclasses."""

    #: names of parameters a notebook may receive but that are not part of the study (none by default)
    notebook_only: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        for spec in self.specs():
            value = _coerce(spec, getattr(self, spec.name))
            if value is not None:
                if spec.info.choices is not None and value not in spec.info.choices:
                    raise ParameterError(spec.name, f"{spec.name} must be one of {list(spec.info.choices)}, "
                                                    f"got {value!r}")
                if spec.info.check is not None:
                    try:
                        spec.info.check(spec.name, value)
                    except ParameterError:
                        raise
                    except ValueError as exc:
                        raise ParameterError(spec.name, str(exc)) from None
            object.__setattr__(self, spec.name, value)
        try:
            self.check()
        except ParameterError:
            raise
        except ValueError as exc:
            raise ParameterError(str(exc).split(" ", 1)[0], str(exc)) from None

    def check(self) -> None:
        """Rules involving several parameters; raise ``ParameterError`` (or ``ValueError`` starting with the name)."""

    # ------------------------------------------------------------------ introspection
    @classmethod
    def specs(cls) -> list[ParamSpec]:
        """The declared parameters, in field order.

        Returns
        -------
        list of ParamSpec
            One per dataclass field: its name, resolved type hint, default (a fresh copy for a list default) and
            the :class:`ParamInfo` :func:`param` recorded.

        Raises
        ------
        TypeError
            If a field is not declared with :func:`param`.
        """
        hints = typing.get_type_hints(cls)
        out = []
        for f in dataclasses.fields(cls):
            info = f.metadata.get("param")
            if info is None:
                raise TypeError(f"{cls.__qualname__}.{f.name} is not declared with param()")
            default = f.default if f.default is not _MISSING else f.default_factory()  # type: ignore[misc]
            out.append(ParamSpec(f.name, hints[f.name], default, info))
        return out

    @classmethod
    def names(cls) -> list[str]:
        """The parameters' names.

        Returns
        -------
        list of str
            The field names, in declaration order.
        """
        return [s.name for s in cls.specs()]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The declared defaults.

        Returns
        -------
        dict
            Parameter name -> its default value, in declaration order (not coerced or validated).
        """
        return {s.name: s.default for s in cls.specs()}

    def to_dict(self) -> dict[str, Any]:
        """The parameters' values (what the results JSON echoes).

        Returns
        -------
        dict
            Parameter name -> its validated value, in declaration order.
        """
        return {s.name: getattr(self, s.name) for s in self.specs()}

    def changed(self) -> dict[str, Any]:
        """The parameters whose value differs from the default.

        Returns
        -------
        dict
            Name -> value of each parameter not equal to its declared default; empty for the defaults.
        """
        d = self.defaults()
        return {k: v for k, v in self.to_dict().items() if v != d[k]}

    def replace(self, **changes) -> Params:
        """A copy with some parameters changed, validated as a new instance.

        Parameters
        ----------
        **changes
            New values by parameter name.

        Returns
        -------
        Params
            An instance of the same class.

        Raises
        ------
        ParameterError
            If a name is not a parameter, or a value fails its type, choices or checks.
        """
        return self.from_mapping({**self.to_dict(), **changes})

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, where: str = "") -> Params:
        """Parameters from a mapping (a variant in reports.toml, CLI arguments, JSON); unknown names are refused.

        Parameters
        ----------
        values : mapping
            Parameter name -> value; parameters left out take their defaults.
        where : str, default ""
            Prefixes the message of an unknown name (e.g. ``"notebooks/reports.toml [variants.x]"``).

        Returns
        -------
        Params
            An instance of this class, validated.

        Raises
        ------
        ParameterError
            If a name is not a parameter, or a value fails its type, choices or checks.
        """
        known = set(cls.names())
        unknown = sorted(set(values) - known)
        if unknown:
            prefix = f"{where}: " if where else ""
            raise ParameterError(unknown[0], f"{prefix}{unknown[0]!r} is not a parameter of {cls.study_label()} "
                                             f"(parameters: {', '.join(sorted(known))})")
        return cls(**dict(values))

    @classmethod
    def from_notebook(cls, namespace: Mapping[str, Any]) -> Params:
        """Parameters from a notebook's namespace (``Params.from_notebook(globals())`` in the validation cell).

        Names that papermill injected (the cell it adds starts with ``# Parameters``) but that are not parameters
        are refused, so a misspelt ``-p alpah 0.01`` cannot leave the report running with the default alpha.

        Parameters
        ----------
        namespace : mapping
            The notebook's globals: every parameter by name, and IPython's input history ``In``.

        Returns
        -------
        Params
            An instance of this class, validated.

        Raises
        ------
        ParameterError
            If papermill injected a name that is not a parameter (nor in ``notebook_only``), a parameter is not
            defined in ``namespace``, or a value fails its type, choices or checks.
        """
        known = cls.names()
        unknown = [k for k in _injected_names(namespace.get("In")) if k not in known and k not in cls.notebook_only]
        if unknown:
            raise ParameterError(unknown[0], f"papermill parameters: {unknown[0]!r} is not a parameter of "
                                             f"{cls.study_label()} (parameters: {', '.join(sorted(known))})")
        missing = [n for n in cls.names() if n not in namespace]
        if missing:
            raise ParameterError(missing[0], f"{missing[0]} is not defined: run the notebook's parameters cell first")
        return cls(**{n: namespace[n] for n in cls.names()})

    @classmethod
    def study_label(cls) -> str:
        """How messages name the study these parameters belong to.

        Returns
        -------
        str
            ``"the <module> study"``, from the last component of the class's module (e.g. ``"the ytd study"``).
        """
        mod = cls.__module__.rsplit(".", 1)[-1]
        return f"the {mod} study"

    # ------------------------------------------------------------------ the notebook's parameters cell
    @classmethod
    def notebook_cell(cls) -> str:
        """The exact source of the notebook's ``parameters`` cell.

        Returns
        -------
        str
            One annotated assignment per parameter with its help as a comment (preceded by
            ``from typing import Optional`` when a parameter is optional); no trailing newline.
        """
        specs = cls.specs()
        lines = []
        if any(s.optional for s in specs):
            lines += ["from typing import Optional", ""]
        for s in specs:
            lines.append(f"{s.name}: {s.annotation} = {_literal(s.default)}  # {s.info.help}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ command line
    @classmethod
    def add_arguments(cls, parser) -> None:
        """Add one option per parameter to an ``argparse`` parser (help and defaults from the declaration).

        Parameters
        ----------
        parser : argparse.ArgumentParser
            Receives ``--<name-with-dashes>`` (and the declared ``cli`` aliases) for each parameter; booleans get
            ``--no-`` forms, lists take one or more values, optional parameters accept ``none``.
        """
        import argparse

        for s in cls.specs():
            flags = [f"--{s.name.replace('_', '-')}", *s.info.cli]
            kw: dict[str, Any] = {"dest": s.name, "help": s.info.help.replace("%", "%%")}  # argparse formats %
            base = s.base
            if base is bool:
                kw["action"] = argparse.BooleanOptionalAction
            elif typing.get_origin(base) is list:
                kw["nargs"] = "+"
                kw["type"] = typing.get_args(base)[0]
            else:
                kw["type"] = _cli_type(base, s.optional)
            if s.info.choices is not None:
                kw["choices"] = list(s.info.choices)
            if s.info.cli_required:
                kw["required"] = True
            else:
                kw["default"] = s.default
                kw["help"] += f" (default: {s.default!r})".replace("%", "%%")
            if s.optional and base is not bool:
                kw["help"] += "; 'none' for None"
            parser.add_argument(*flags, **kw)

    @classmethod
    def from_arguments(cls, args) -> Params:
        """Parameters from parsed command-line arguments (options added by :meth:`add_arguments`).

        Parameters
        ----------
        args : argparse.Namespace
            Has one attribute per parameter name.

        Returns
        -------
        Params
            An instance of this class, validated as by :meth:`from_mapping`.
        """
        return cls.from_mapping({n: getattr(args, n) for n in cls.names()})

    @classmethod
    def option_of(cls, name: str) -> str:
        """The option string a user typed for parameter ``name`` (the first alias, else the generated one).

        Parameters
        ----------
        name : str
            A parameter name.

        Returns
        -------
        str
            The first declared ``cli`` alias, else ``--<name-with-dashes>``; ``name`` itself if it is not a
            parameter.
        """
        for s in cls.specs():
            if s.name == name:
                return s.info.cli[0] if s.info.cli else f"--{name.replace('_', '-')}"
        return name


def _literal(value) -> str:
    """A default as the parameters cell writes it (double-quoted text, as the notebooks' code style)."""
    import json

    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return repr(value)


def _cli_type(base, optional: bool):
    def convert(text: str):
        if optional and text.strip().lower() == "none":
            return None
        return base(text)

    convert.__name__ = base.__name__  # argparse names the type in its error message
    return convert


def _injected_names(history) -> list[str]:
    """Names assigned at top level by the cell papermill injected, found in IPython's input history ``In``."""
    if not isinstance(history, (list, tuple)):
        return []
    for source in reversed(history):
        if isinstance(source, str) and source.lstrip().startswith(_PAPERMILL_HEADER):
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return []
            names = []
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) else [])
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return []
