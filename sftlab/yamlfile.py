"""The one way sftlab reads YAML (experiment specs, `train --config` files): safe, strict and bounded.

`yaml.safe_load` builds plain data but accepts two things that cost a user silently: a duplicate key (the last
one wins, so a typo'd second `learning_rate:` quietly replaces the first) and aliases that multiply (`*a` ten
times per level, nine levels deep, is a few hundred bytes that expand to a billion values as soon as anything
walks, prints or serialises the result). Here a duplicate key is an error naming it and its line; aliases stay
allowed (`<<: *defaults` is handy) but the document's expanded size, counted as if every alias were written out,
is bounded, as are the file's size and its nesting depth. Every mistake is a ConfigError `FILE: ... (line N)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from sftlab.errors import ConfigError

MAX_YAML_BYTES = 1_000_000  # a spec or config is a few kB
MAX_YAML_EXPANDED = 1_000_000  # nodes + scalar characters, aliases counted at every use
MAX_YAML_DEPTH = 100  # nesting levels (deeper documents would exhaust Python's recursion limit)
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_yaml(path: str | Path) -> Any:
    """The data in the YAML file `path` (None for an empty file); see the module docstring for what is refused."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if size > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: {size} bytes is too large for a YAML spec or config (limit {MAX_YAML_BYTES})")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text, so not a YAML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return loads_yaml(text, str(path))


def loads_yaml(text: str, source: str = "<yaml>") -> Any:
    """Parse one YAML document like `yaml.safe_load`, refusing duplicate keys and over-large or too deep data."""
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{source}: {len(text)} characters is too large for a YAML spec or config "
                          f"(limit {MAX_YAML_BYTES})")
    loader = _StrictLoader(text, source)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


class _StrictLoader(yaml.SafeLoader):
    def __init__(self, text: str, source: str):
        super().__init__(text)
        self.source = source
        self.depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                line = self.peek_event().start_mark.line + 1
                raise ConfigError(f"{self.source}: nested more than {MAX_YAML_DEPTH} levels deep (line {line})")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            first_line: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # `<<:` merges may be overridden by explicit keys: that is their purpose
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    duplicate = key in first_line
                except TypeError:
                    continue  # an unhashable key: SafeConstructor reports it below
                if duplicate:
                    raise ConfigError(f"{self.source}: duplicate key {str(key)[:80]!r} (line {line}; "
                                      f"first at line {first_line[key]})")
                first_line[key] = line
        return super().construct_mapping(node, deep=deep)


def _check_expanded_size(root, source: str) -> None:
    """Refuse a document whose size, with every alias written out, is over MAX_YAML_EXPANDED (or is recursive)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, ScalarNode):
            sizes[key] = 1 + len(node.value)
            continue
        children = _children(node)
        if not children_done:
            if key in active:
                raise ConfigError(f"{source}: an alias refers to its own enclosing value "
                                  f"(line {node.start_mark.line + 1}); recursive YAML is not supported")
            active.add(key)
            stack.append((node, True))
            for child in children:
                if id(child) in active:
                    raise ConfigError(f"{source}: an alias refers to its own enclosing value "
                                      f"(line {child.start_mark.line + 1}); recursive YAML is not supported")
                if id(child) not in sizes:
                    stack.append((child, False))
            continue
        active.discard(key)
        total = 1 + sum(sizes[id(child)] for child in children)
        if total > MAX_YAML_EXPANDED:
            raise ConfigError(
                f"{source}: the value at line {node.start_mark.line + 1} expands to more than {MAX_YAML_EXPANDED} "
                "values and characters once its aliases (*name) are written out; write it without nested aliases"
            )
        sizes[key] = total


def _children(node) -> list:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []
