"""Runs, or the field texts that stand for them -> the config and summary keys they hold; a
query -> each config or summary key it names that none of them holds, with the closest that do.

A misspelled key selects nothing, and says nothing: ``summary.vall_loss <= 0.1`` is a valid
query. W&B's UI picks a key from the project's; a typed query gets the same safety here, in
the one check that ``check``, the REPL, the CLI and ``Workspace.save(check_keys=True)`` share.

A key is held when ``evaluate`` reads it from some run (``evaluate.getter``): the flat key (the
segments joined with dots) in the section, or, for a key of several segments, the nested
mappings walked one segment at a time from the section. So ``config.optimizer`` is held where
a run's config is ``{"optimizer": {"beta": 0.9}}``, not where it has only the flat key
``"optimizer.beta"``. A key held with a null value is held (the run has it). Keys are listed
``MAX_DEPTH`` segments deep, and a longer key is held when its first ``MAX_DEPTH`` segments
are. Not judged: run attributes and ``run.<key>``, W&B's own ``_wandb`` keys (which are not
listed), and a section that some run holds as an object read key by key (wandb's summary),
whose keys cannot be listed without reading them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

import attrs

from wsquery.ast import Field, Query, walk
from wsquery.errors import Diagnostic, WsqueryError

#: The sections whose keys are judged.
KEY_SECTIONS = ("config", "summary")
#: How many segments deep the keys of a config or summary are listed.
MAX_DEPTH = 4
#: Close keys a hint names at most.
MAX_SUGGESTIONS = 3
#: How much less close (difflib's ratio) than the closest key another may be and be named.
CLOSENESS_MARGIN = 0.1
#: Keys a hint lists when none is close.
SHOWN_KEYS = 5


@attrs.frozen
class KnownKeys:
    """The config and summary keys some runs hold: per section, every key's path of segments
    (a nested key both whole and segment by segment); ``unlisted`` names the sections a run
    holds in a form whose keys cannot be listed, which are not judged."""

    paths: Mapping[str, frozenset[tuple[str, ...]]]
    unlisted: frozenset[str] = frozenset()

    def holds(self, field: Field) -> bool:
        """Whether some run holds ``field``, read as ``evaluate`` reads it; fields that are
        not judged count as held."""
        if (field.section not in KEY_SECTIONS or field.section in self.unlisted
                or any(hidden(segment) for segment in field.path)):
            return True
        paths = self.paths[field.section]
        return ((field.key,) in paths or field.path in paths
                or (len(field.path) > MAX_DEPTH and field.path[:MAX_DEPTH] in paths))


def known_keys(runs: Iterable[Any] | None = None,
               fields: Mapping[str, Any] | Iterable[str] | None = None) -> KnownKeys | None:
    """The keys ``runs`` (any shape ``evaluate`` reads; others are skipped) and ``fields``
    (field texts, as ``assist.fields_of`` gives them; texts that name no field are skipped)
    hold; None when they give no run and no field, as an empty vocabulary tells nothing."""
    from wsquery.semantics.records import adapt

    paths: dict[str, set[tuple[str, ...]]] = {section: set() for section in KEY_SECTIONS}
    unlisted: set[str] = set()
    given = 0
    for run in runs or ():
        try:
            record = adapt(run)
        except WsqueryError:
            continue
        given += 1
        for section in KEY_SECTIONS:
            values = getattr(record, section)
            if isinstance(values, Mapping):
                paths[section].update(path for path, _ in leaves(values))
            else:  # read key by key: a read may download what the key holds
                unlisted.add(section)
    for text in fields or ():
        given += 1
        field = field_named(text)
        if field is not None and field.section in KEY_SECTIONS:
            paths[field.section].add(field.path)
    if not given:
        return None
    return KnownKeys({section: frozenset(held) for section, held in paths.items()},
                     frozenset(unlisted))


def judged(query: Query) -> list[Field]:
    """The config and summary fields ``query`` names (filter, ``group by``, ``order by``),
    each mention in source order: the fields the check judges."""
    return [node for node in walk(query)
            if type(node) is Field and node.section in KEY_SECTIONS]


def unknown_keys(query: Query, known: KnownKeys, *, holders: str = "run") -> list[Diagnostic]:
    """A problem for each mention in ``query`` of a config or summary key that no run holds
    ("no ``holders`` has ..."), spanning the key (nothing, for a query built without text),
    with a hint naming the closest keys the runs hold."""
    return [Diagnostic(f"no {holders} has {field}", field.span or (0, 0), _hint(field, known))
            for field in judged(query) if not known.holds(field)]


def _hint(field: Field, known: KnownKeys) -> str:
    """The keys of the same section closest to ``field``'s, then those of the other section
    whose last segment is ``field``'s (``summary.acc`` for ``config.acc``); else what keys
    the section holds."""
    same = _shown(field.section, known)
    leaf = field.key.rpartition(".")[2]
    suggested = [same[key] for key in _closest(field.key, same)]
    for section in KEY_SECTIONS:
        if section != field.section:
            suggested += [shown for key, shown in sorted(_shown(section, known).items())
                          if key.rpartition(".")[2] == leaf]
    if suggested:
        return f"did you mean {_either(list(dict.fromkeys(suggested))[:MAX_SUGGESTIONS])}?"
    if not same:
        return f"no run has any {field.section} key"
    listed = sorted(same.values())
    more = f" and {len(listed) - SHOWN_KEYS} more" if len(listed) > SHOWN_KEYS else ""
    return f"the runs' {field.section} keys are {', '.join(listed[:SHOWN_KEYS])}{more}"


def _closest(key: str, keys: Iterable[str]) -> list[str]:
    """The keys close to ``key``, closest first, leaving out those much less close than the
    closest (``optimizer`` for ``optimiser``, not also ``optimizer.name``)."""
    close = difflib.get_close_matches(key, keys, n=MAX_SUGGESTIONS)
    ratios = [difflib.SequenceMatcher(None, found, key).ratio() for found in close]
    return [found for found, ratio in zip(close, ratios, strict=True)
            if ratio >= ratios[0] - CLOSENESS_MARGIN]


def _shown(section: str, known: KnownKeys) -> dict[str, str]:
    """The section's keys, dotted -> as a query writes the field (segment by segment where
    a nested path gives the key, else the flat key)."""
    shown: dict[str, str] = {}
    for path in sorted(known.paths[section], key=len, reverse=True):
        shown.setdefault(".".join(path), str(Field(section, path)))
    return shown


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def hidden(key: str) -> bool:
    """Whether a key is W&B's own (``_wandb``), which the UI does not offer."""
    return key.startswith("_wandb")


def leaves(values: Mapping[str, Any], prefix: tuple[str, ...] = ()
           ) -> Iterator[tuple[tuple[str, ...], Any]]:
    """The keys of a config or summary, nested ones both whole and segment by segment (a query
    may write either), ``MAX_DEPTH`` segments deep, with their values; W&B's own ``_wandb``
    keys left out."""
    for key, value in values.items():
        if not isinstance(key, str) or not key or hidden(key):
            continue
        yield (*prefix, key), value
        if isinstance(value, Mapping) and len(prefix) < MAX_DEPTH - 1:
            yield from leaves(value, (*prefix, key))


@lru_cache(maxsize=4096)
def field_named(text: str) -> Field | None:
    """The field ``text`` names, read as a query reads it; None when it names none."""
    from wsquery.build import field

    try:
        return field(text).field
    except WsqueryError:
        return None
