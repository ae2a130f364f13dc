"""Space overrides: narrow, re-range or fix parameters from a JSON or YAML file.

File format (``.json``, ``.yaml`` or ``.yml``): one mapping from parameter name to one of

- a scalar: fix the parameter to that value (``"batch_size": 32``, ``"flip": true``);
- a list: search exactly these values (``"batch_size": [16, 32]``);
- a mapping with
  - ``low`` and/or ``high`` (and optionally ``log``, ``step`` for integers): a new range for a float
    or integer parameter (``"lr": {"low": 1e-4, "high": 1e-3}``);
  - ``choices``: search exactly these values (``"dropout": {"choices": [0.1, 0.2]}``);
  - ``value``: fix the parameter (same as a scalar);
  - optionally ``default``: the value ``defaults()`` gives (otherwise the old one if still valid).

Example (YAML)::

    lr: {low: 1.0e-4, high: 1.0e-3}
    batch_size: 32
    dropout: {choices: [0.1, 0.2]}

Every value the overridden parameter can produce must lie in its hard bounds (``Param.valid``,
what the model accepts: a learning rate > 0, a dropout in [0, 1), a batch size >= 1, ...).

Errors (all ``LensSearchError``, naming the parameter or file): a value outside those bounds,
an unknown parameter name,
an inverted range (low > high), a log range with low <= 0, a range on a choice parameter, a value of
the wrong kind (text for a number, a fraction for an integer), an unreadable or unparsable file,
a file with another suffix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lens_search.errors import LensSearchError, one_line
from lens_search.spaces.params import ChoiceParam, FixedParam, Param

_SPEC_KEYS = {"low", "high", "log", "step", "choices", "value", "default"}
_RANGE_KEYS = {"low", "high", "log", "step"}


def load_space_overrides(path: str | Path) -> dict[str, Any]:
    """Read an overrides file (JSON or YAML) into a mapping for ``SearchSpace.with_overrides``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in {".json", ".yaml", ".yml"}:
        raise LensSearchError(
            f"space overrides file {path}: unsupported suffix {path.suffix!r} "
            "(use .json, .yaml or .yml)"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LensSearchError(f"space overrides file {path}: cannot read ({exc.strerror})") from exc
    try:
        if suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # json's ValueError, yaml.YAMLError
        message = f"space overrides file {path}: cannot parse: {one_line(exc, 'all')}"
        raise LensSearchError(message) from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise LensSearchError(
            f"space overrides file {path}: expected a mapping of parameter names, "
            f"got {type(data).__name__}"
        )
    return data


def override_param(param: Param, spec: Any) -> Param:
    """Apply one override ``spec`` (see module docstring) to ``param``."""
    name = param.name
    if isinstance(spec, dict):
        unknown = sorted(set(spec) - _SPEC_KEYS)
        if unknown or not spec:
            raise LensSearchError(
                f"{name}: override keys must be among {sorted(_SPEC_KEYS)}, got {sorted(spec)}"
            )
        if "value" in spec:
            return _fixed(param, spec["value"])
        if "choices" in spec:
            if set(spec) & _RANGE_KEYS:
                raise LensSearchError(f"{name}: give either choices or a range, not both")
            return _choices(param, spec["choices"], spec.get("default"))
        return _range(param, spec)
    if isinstance(spec, list | tuple):
        return _choices(param, spec, None)
    return _fixed(param, spec)


def _fixed(param: Param, value: Any) -> FixedParam:
    return FixedParam(param.name, _check_value(param, value), valid=param.valid)


def _choices(param: Param, choices: Any, default: Any) -> ChoiceParam:
    if not isinstance(choices, list | tuple) or not choices:
        raise LensSearchError(f"{param.name}: choices must be a non-empty list, got {choices!r}")
    values = tuple(_check_value(param, c) for c in choices)
    if default is None:
        old = param.default_value()
        default = old if old in values else None
    return ChoiceParam(param.name, values, default=default, valid=param.valid)


def _range(param: Param, spec: dict[str, Any]) -> Param:
    changes: dict[str, Any] = {k: spec[k] for k in ("low", "high", "log", "step") if k in spec}
    return param.as_range().ranged(changes, spec.get("default"))


def _check_value(param: Param, value: Any) -> Any:
    """A fixed value or choice must match the parameter's kind (``Param.check_value``)."""
    if value is None:
        raise LensSearchError(f"{param.name}: a value is required, got null")
    return param.check_value(value)
