"""Loading user plugins the same way for every registry (tasks, training methods): installed entry points, Python
files named on the command line or in a spec, and the environment variable that hands those files to child
processes."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from sftlab.errors import ConfigError


def entry_point_objects(group: str, what: str) -> list[tuple[str, object]]:
    """`(name, object)` of every installed entry point of `group`; one that fails to load is a ConfigError naming
    it (a broken plugin must not take the whole CLI down with a traceback)."""
    found = []
    for ep in entry_points(group=group):
        try:
            found.append((ep.name, ep.load()))
        except (Exception, SystemExit) as exc:  # a plugin must not end the process, even while it is loaded
            raise ConfigError(f"{what} plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from None
    return found


def load_file(path: str | os.PathLike, *, what: str, names: tuple[str, str], example: str, registry: dict,
              loaded: dict, env_var: str, register_found: Callable) -> list[str]:
    """Import a plugin file once and register what it defines, returning the names it added to `registry`.

    The file either defines `names[0]` or `names[1]` (e.g. TASKS or TASK), handed to `register_found(obj, origin)`,
    or calls the registry's register() itself. `loaded` maps each loaded file to the names it added; loading a file
    again is a no-op. A missing file, a failing import and a file that adds nothing are one-line ConfigErrors. The
    file is added to `env_var`, so that child processes load it too.
    """
    file = Path(path).expanduser().resolve()
    key = str(file)
    if key in loaded:
        return []
    if not file.is_file():
        raise ConfigError(f"no such {what} module: {path}")
    before = set(registry)
    loaded[key] = []
    try:
        name = f"sftlab_user_{what}_{len(loaded)}_{re.sub(r'[^A-Za-z0-9_]', '_', file.stem)}"
        module = _import_file(file, name, f"{what} module {path}")
        found = getattr(module, names[0], None) or getattr(module, names[1], None)
        if found is not None:
            register_found(found, f"{what} module {path}")
    except ConfigError:
        loaded.pop(key, None)
        raise
    loaded[key] = [name for name in registry if name not in before]
    if not loaded[key]:
        raise ConfigError(f"{what} module {path} defines no {what}: set {names[1]} = {example} or call register()")
    paths = [p for p in os.environ.get(env_var, "").split(os.pathsep) if p]
    if key not in paths:
        os.environ[env_var] = os.pathsep.join([*paths, key])
    return loaded[key]


def unload_file(path: str | os.PathLike, *, loaded: dict, unregister: Callable, env_var: str) -> None:
    """Forget a loaded plugin file: unregister what it added and drop it from `env_var` (tests, notebooks)."""
    key = str(Path(path).expanduser().resolve())
    for name in loaded.pop(key, []):
        unregister(name)
    paths = [p for p in os.environ.get(env_var, "").split(os.pathsep) if p and p != key]
    if paths:
        os.environ[env_var] = os.pathsep.join(paths)
    else:
        os.environ.pop(env_var, None)


def _import_file(file: Path, module_name: str, shown: str) -> ModuleType:
    """Import the Python file `file` as module `module_name` (kept in sys.modules: dataclasses and pickling look
    it up by name); an exception while importing it is one ConfigError line naming it as `shown`."""
    spec = importlib.util.spec_from_file_location(module_name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except ConfigError:
        raise
    except (Exception, SystemExit) as exc:  # a plugin must not end the process, even while it is imported
        raise ConfigError(f"{shown} failed to import: {type(exc).__name__}: {exc}") from None
    return module
