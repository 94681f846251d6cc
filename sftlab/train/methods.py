"""The training-method registry: one `Method` per way of training (sft, grpo, dpo, a plugin's), found by name.

A method is a name, a config class (a `sftlab.train.config.TrainConfig`), a train function `train(config,
progress=True) -> run folder`, the kind of rows it consumes (a preset kind: `sft` demonstrations, `rl` prompts with
answers, `pairs` preference pairs) and its step version (bump it when what a step computes changes in a way its
settings do not show, so finished experiment steps re-run). The spec parser, the plan, the step runners, the
launcher, the executors and `sftlab train METHOD` all ask this registry; none branches on a method's name.

The built-in methods (sft, grpo, dpo: one module each under sftlab.train) are listed in `_builtins`. User methods
come from

- a Python entry point in the group `sftlab.methods` (an installed package; the object is a Method or a list), or
- a file: `sftlab --method-module my_method.py ...` (every verb), the spec key `method_module`, or the environment
  variable SFTLAB_METHOD_MODULES (paths separated by os.pathsep). The file defines `METHOD` (or `METHODS`), or calls
  `register()` itself. Loaded files are added to SFTLAB_METHOD_MODULES so that worker processes see them too.

Importing this module imports no torch (the config modules keep their heavy imports inside the train functions).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from sftlab.errors import ConfigError, did_you_mean
from sftlab.plugins import entry_point_objects, load_file, unload_file
from sftlab.train.config import TrainConfig

ENTRY_POINT_GROUP = "sftlab.methods"
ENV_VAR = "SFTLAB_METHOD_MODULES"
DEFAULT_METHOD = "sft"  # a spec condition without `method:` trains with it
# The preset kinds a method may consume, and how an error names a data set of that kind.
ROW_KINDS = {
    "sft": "a demonstration set (not *-rl)",
    "rl": "an RL set (*-rl)",
    "pairs": "a preference-pair set (*-pairs)",
}
DEMONSTRATIONS = "sft"  # the preset kind of demonstration sets
# Row kinds made from demonstrations: a spec condition of such a method names its `demo`.
DEMONSTRATION_KINDS = (DEMONSTRATIONS, "pairs")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED = ("data", "eval", "report")  # the plan's other step kinds: a method named so would be run as one


@dataclass(frozen=True)
class Method:
    """One training method: `train(config, progress=True)` trains a `config` instance on `rows`-kind data and
    returns the run folder (docs/contracts.md)."""

    name: str
    config: type
    train: Callable
    rows: str
    version: int = 1
    help: str = ""

    def __post_init__(self):
        if not _NAME.match(self.name or "") or self.name in RESERVED:
            raise ConfigError(f"method name {self.name!r} must be lower-case letters, digits and _, starting with a "
                              f"letter, and not one of the plan's step kinds ({', '.join(RESERVED)})")
        if not (isinstance(self.config, type) and issubclass(self.config, TrainConfig)):
            raise ConfigError(f"method {self.name}: config must be a TrainConfig subclass (sftlab.train.config)")
        if not callable(self.train):
            raise ConfigError(f"method {self.name}: train must be callable")
        if self.rows not in ROW_KINDS:
            raise ConfigError(f"method {self.name}: unknown row kind {self.rows!r}; choose one of: "
                              f"{', '.join(ROW_KINDS)}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ConfigError(f"method {self.name}: version must be a positive integer, got {self.version!r}")

    @property
    def uses_demonstrations(self) -> bool:
        """Whether its rows are made from demonstrations (a spec condition then names a `demo`)."""
        return self.rows in DEMONSTRATION_KINDS


def _builtins() -> list[Method]:
    from sftlab.train.dpo import DpoConfig, train_dpo
    from sftlab.train.grpo import GrpoConfig, train_grpo
    from sftlab.train.sft import SftConfig, train_sft

    return [
        Method("sft", SftConfig, train_sft, rows="sft",
               help="Supervised fine-tuning (TRL SFTTrainer) with a paper's recipe (--recipe); prints the run folder."),
        Method("grpo", GrpoConfig, train_grpo, rows="rl",
               help="GRPO with the Debunk paper's RL settings (TRL GRPOTrainer, task rewards); prints the run folder."),
        Method("dpo", DpoConfig, train_dpo, rows="pairs",
               help="DPO on preference pairs (TRL DPOTrainer; chosen: a verified demonstration, rejected: a response "
                    "the task's verifier fails); prints the run folder."),
    ]


_methods: dict[str, Method] = {}
_loaded_files: dict[str, list[str]] = {}  # resolved path -> names of the methods it registered
_state = {"builtins": False}


def _ensure() -> None:
    if _state["builtins"]:
        return
    _state["builtins"] = True
    for method in _builtins():
        register(method)
    _load_entry_points()
    for path in filter(None, os.environ.get(ENV_VAR, "").split(os.pathsep)):
        load_method_module(path)


def register(method: Method, *, replace: bool = False) -> Method:
    """Add a method to the registry and return it; a name already taken is a ConfigError unless `replace`."""
    if not isinstance(method, Method):
        raise ConfigError(f"a registered method must be a sftlab.train.methods.Method, got {type(method).__name__}")
    owner = _methods.get(method.name)
    if owner is not None and owner != method and not replace:
        raise ConfigError(f"method name {method.name!r} is already taken")
    _methods[method.name] = method
    return method


def unregister(name: str) -> None:
    """Remove a method (tests and interactive sessions)."""
    _methods.pop(name, None)


def get_method(name: str) -> Method:
    """The method called `name`; an unknown name is a ConfigError listing the methods (and the closest one)."""
    _ensure()
    if isinstance(name, str) and name in _methods:
        return _methods[name]
    raise ConfigError(unknown_method_message(name))


def unknown_method_message(name) -> str:
    """`unknown method 'dop' (did you mean dpo?); choose one of: sft, grpo, dpo`."""
    _ensure()
    return f"unknown method {name!r}{did_you_mean(name, _methods)}; choose one of: {', '.join(_methods)}"


def method_names() -> tuple[str, ...]:
    """Every registered method's name, built-ins first, in registration order."""
    _ensure()
    return tuple(_methods)


def all_methods() -> list[Method]:
    """Every registered method, built-ins first."""
    _ensure()
    return list(_methods.values())


def is_method(kind: str) -> bool:
    """Whether a plan step of this kind trains (its kind is a registered method's name)."""
    _ensure()
    return kind in _methods


# --- plugins ------------------------------------------------------------------------------------------------------
def _register_from(obj, origin: str) -> None:
    for item in obj if isinstance(obj, (list, tuple)) else [obj]:
        if not isinstance(item, Method):
            raise ConfigError(f"{origin} provides {item!r}, which is not a sftlab Method")
        register(item)


def _load_entry_points() -> None:
    for name, obj in entry_point_objects(ENTRY_POINT_GROUP, "method"):
        _register_from(obj, f"entry point {name!r}")


def load_method_module(path: str | os.PathLike) -> list[Method]:
    """Import a method file and register what it defines (`METHOD`, `METHODS`, or its own register() calls).

    Loading the same file twice is a no-op. The path is added to SFTLAB_METHOD_MODULES for child processes.
    """
    _ensure()
    names = load_file(path, what="method", names=("METHODS", "METHOD"), example="Method(...)", registry=_methods,
                      loaded=_loaded_files, env_var=ENV_VAR, register_found=_register_from)
    return [_methods[name] for name in names]


def unload_method_module(path: str | os.PathLike) -> None:
    """Forget a loaded method file: unregister its methods and drop it from SFTLAB_METHOD_MODULES (tests)."""
    unload_file(path, loaded=_loaded_files, unregister=unregister, env_var=ENV_VAR)
