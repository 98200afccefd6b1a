"""A target another package declares, as the registry hands it out: whatever the plugin's own
code raises, or gives instead of a compiled result, becomes a ``TargetError`` naming it, so a
broken plugin cannot break a caller or another target. Apart from the registry, which loads it
only when it reads the entry points, so compiling for wsquery's own targets never pays for it.
"""

from __future__ import annotations

from typing import Any

import attrs

from wsquery.ast import Query
from wsquery.compilers.registry import Compiled, Option, Target
from wsquery.errors import TargetError, TargetWarning, WsqueryError


@attrs.frozen
class PluginTarget:
    """A target another package declares, as the registry hands it out: its ``compile``
    gives a ``TargetError`` naming the plugin for whatever the plugin's own code raises
    (``KeyboardInterrupt`` aside), and checks that what it gives is a compiled result."""

    name: str
    description: str
    options: tuple[Option, ...]
    target: Target
    #: The entry point's own text (``module:object``), to name the plugin in errors.
    source: str

    def compile(self, query: Query, *, text: str | None = None, **given: Any) -> Compiled:
        try:
            result = self.target.compile(query, text=text, **given)
        except TargetError as error:
            raise self._named(error) from None
        except (WsqueryError, KeyboardInterrupt):
            raise
        except BaseException as error:  # the plugin's own failure, whatever it is
            raise self._failure("failed", error) from None
        if not callable(getattr(result, "to_json", None)) or not isinstance(
                getattr(result, "warnings", None), tuple | list):
            raise TargetError(f"the target plugin ({self.source}) gave "
                              f"{type(result).__name__}, not a compiled result with to_json() "
                              "and warnings", target=self.name)
        return _PluginResult(result, self)

    def _named(self, error: TargetError) -> TargetError:
        """The plugin's own ``TargetError``, naming the target as the user asked for it."""
        if error.target == self.name:
            return error
        return TargetError(error.message, target=self.name, span=error.span, text=error.text,
                           hint=error.hint)

    def _failure(self, what: str, error: BaseException) -> TargetError:
        return TargetError(f"the target plugin ({self.source}) {what}: {described(error)}",
                           target=self.name)


@attrs.frozen
class _PluginResult:
    """A plugin's compiled result, whose ``to_json`` fails as the plugin's ``compile`` does."""

    result: Compiled
    plugin: PluginTarget

    @property
    def warnings(self) -> tuple[TargetWarning, ...]:
        return tuple(self.result.warnings)

    def to_json(self) -> Any:
        try:
            return self.result.to_json()
        except TargetError as error:
            raise self.plugin._named(error) from None
        except (WsqueryError, KeyboardInterrupt):
            raise
        except BaseException as error:  # the plugin's own failure, whatever it is
            raise self.plugin._failure("failed to write its result", error) from None


def described(error: BaseException) -> str:
    """The error's class and the start of its text, on one line (a plugin's error may fail
    even to say what it is)."""
    try:
        detail = " ".join(str(error).split())[:300]
    except Exception:  # its __str__ failed too
        detail = ""
    return type(error).__name__ + (f": {detail}" if detail else "")
