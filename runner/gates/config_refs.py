"""Config-reference gate for Hydra/OmegaConf config trees.

Two checks, each with the file and line:

* every ``defaults:`` entry names a config file that exists: ``- group: option``
  is ``<group dir>/group/option.yaml`` (relative to the group of the config
  that lists it, or to the config root with a leading ``/``); ``- name`` is a
  config of the same group; ``override``, ``optional`` and ``group@package``
  are understood; ``_self_``, ``null``, ``???`` and interpolated options are
  not files. A missing ``optional`` entry is a warning (Hydra skips it).
* every ``${...}`` interpolation in a checked config resolves in the composed
  config. The tree is composed the way Hydra does (defaults in order, each
  config at its package: ``# @package``, the group path by default), with
  OmegaConf doing the merging and the resolving. Each primary config (a YAML
  file at the root of the tree) that includes the checked one is a context to
  resolve in; a config no primary includes is resolved on top of each primary
  as if selected on the command line, and what does not resolve there is a
  warning, not a failure: the runner cannot know which selection is meant.
  Resolvers (``oc.env``, custom ones) are not evaluated: a stub stands in and
  the interpolation is a warning ("unresolvable resolver X").

This is a static model of Hydra's composition (Hydra itself is not needed): it
checks references, it does not replace running the app.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import (
    InterpolationKeyError,
    InterpolationResolutionError,
    InterpolationToMissingValueError,
    OmegaConfBaseException,
)

from runner.gates import GateResult, GateStatus
from runner.records import datarecord, field

GATE = "config-references"
CONFIG_DIR_NAMES = ("configs", "conf", "config")
_PACKAGE = re.compile(r"^#\s*@package\s+(\S+)\s*$")
_RESOLVER = re.compile(r"\$\{\s*([A-Za-z_][\w.\-]*)\s*:")
_INTERPOLATION = re.compile(r"\$\{")


def config_root(relative: str) -> str | None:
    """The nearest ``configs/`` (``conf/``, ``config/``) folder above a YAML file, if any."""
    parts = relative.split("/")[:-1]
    for index in range(len(parts), 0, -1):
        if parts[index - 1] in CONFIG_DIR_NAMES:
            return "/".join(parts[:index])
    return None


@datarecord
class _Config:
    path: str  # repo-relative
    group: str  # "" for a primary config, "dataloaders" for configs/dataloaders/x.yaml
    package: str | None  # from a `# @package` header; None: the default
    body: Any  # the YAML without its defaults list
    node: yaml.Node | None  # positions
    defaults: list[_Entry] = field(default_factory=list)


@datarecord(frozen=True)
class _Entry:
    """A defaults-list entry that names config files."""

    line: int
    text: str  # as written, for messages
    candidates: list[str]  # option.yaml, option.yml
    optional: bool
    package: str | None  # `@pkg`


class ConfigTree:
    """The YAML files under a config root, as the task left them."""

    def __init__(self, root: str, files: list[str], read: Callable[[str], bytes | None]) -> None:
        self.root = root.rstrip("/")
        self.read = read
        self.files = {f for f in files if f.endswith((".yaml", ".yml"))}
        self.configs: dict[str, _Config] = {}
        self.errors: list[GateResult] = []

    def config(self, path: str) -> _Config | None:
        if path in self.configs:
            return self.configs[path]
        data = self.read(path)
        if data is None:
            return None
        text = data.decode("utf-8", "replace")
        group = posixpath.dirname(path)[len(self.root) + 1 :] if path.startswith(self.root + "/") else ""
        package = next(
            (m.group(1) for line in text.splitlines()[:10] if (m := _PACKAGE.match(line.strip()))), None
        )
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            body = yaml.safe_load(text)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else path
            self.errors.append(GateResult(GATE, where, "failed", "is not valid YAML"))
            node, body = None, {}
        config = _Config(path, group, package, body if isinstance(body, dict) else {}, node)
        if isinstance(config.body, dict):
            config.body = {k: v for k, v in config.body.items() if k != "defaults"}
        config.defaults = self._defaults(config)
        self.configs[path] = config
        return config

    def _file(self, group_dir: str, name: str) -> list[str]:
        base = posixpath.normpath(posixpath.join(self.root, group_dir, name)) if name else ""
        return [base + ".yaml", base + ".yml"]

    def _defaults(self, config: _Config) -> list[_Entry]:
        node = config.node
        if not isinstance(node, yaml.MappingNode):
            return []
        listed = next(
            (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == "defaults"), None
        )
        if not isinstance(listed, yaml.SequenceNode):
            return []
        entries: list[_Entry] = []
        for item in listed.value:
            line = item.start_mark.line + 1
            if isinstance(item, yaml.ScalarNode):
                name, _, at = str(item.value).partition("@")
                if name in ("_self_", "") or "${" in name:
                    continue
                entries.append(_Entry(line, item.value, self._file(config.group, name), False, at or None))
            elif isinstance(item, yaml.MappingNode) and len(item.value) == 1:
                key_node, value_node = item.value[0]
                key = str(key_node.value).strip()
                words = key.split()
                optional = "optional" in words[:-1]
                group, _, at = (words[-1] if words else "").partition("@")
                options = _options(value_node)
                for option in options:
                    if option in ("null", "", "???", "None") or "${" in option:
                        continue
                    group_dir = group[1:] if group.startswith("/") else posixpath.join(config.group, group)
                    entries.append(
                        _Entry(line, f"{key}: {option}", self._file(group_dir, option), optional, at or None)
                    )
        return entries

    def missing_defaults(self, config: _Config) -> list[GateResult]:
        results = []
        for entry in config.defaults:
            if any(c in self.files for c in entry.candidates):
                continue
            status: GateStatus = "warning" if entry.optional else "failed"
            note = " (optional: Hydra skips it)" if entry.optional else ""
            results.append(
                GateResult(
                    GATE,
                    f"{config.path}:{entry.line}",
                    status,
                    f"defaults entry '{entry.text}': {entry.candidates[0]} does not exist{note}",
                )
            )
        return results

    def package_of(self, config: _Config, override: str | None = None) -> str:
        package = override if override is not None else config.package
        if package in (None, "_group_"):
            return config.group.replace("/", ".")
        if package == "_global_":
            return ""
        return package.replace("_group_", config.group.replace("/", "."))

    def compose(
        self, config: _Config, package: str, seen: tuple[str, ...] = ()
    ) -> tuple[DictConfig, set[str]]:
        """The config merged with its defaults (at their packages), and every file it included."""
        merged = OmegaConf.create()
        included = {config.path}
        if config.path in seen:
            return merged, included
        for entry in config.defaults:
            path = next((c for c in entry.candidates if c in self.files), None)
            child = self.config(path) if path else None
            if child is None:
                continue
            at = entry.package
            # `group@pkg`: pkg is relative to this config's package (`_global_`: the root)
            child_package = self.package_of(
                child, at if at is None or at == "_global_" else _join(package, at)
            )
            sub, files = self.compose(child, child_package, (*seen, config.path))
            merged = _merge_at(merged, "", sub)
            included |= files
        # `_self_` last, as Hydra >= 1.1 does when the list does not place it
        return _merge_at(merged, package, OmegaConf.create(_plain(config.body))), included


def _options(node: yaml.Node) -> list[str]:
    if isinstance(node, yaml.ScalarNode):
        return [str(node.value)]
    if isinstance(node, yaml.SequenceNode):
        return [str(n.value) for n in node.value if isinstance(n, yaml.ScalarNode)]
    return []


def _join(package: str, child: str) -> str:
    return f"{package}.{child}" if package else child


def _plain(body: Any) -> Any:
    return body if isinstance(body, dict) else {}


def _merge_at(base: DictConfig, package: str, value: DictConfig) -> DictConfig:
    if package:
        wrapped: Any = OmegaConf.to_container(value, resolve=False)
        for part in reversed(package.split(".")):
            wrapped = {part: wrapped}
        value = OmegaConf.create(wrapped)
    result = OmegaConf.merge(base, value)
    assert isinstance(result, DictConfig)
    return result


def _interpolations(config: _Config) -> list[tuple[int, str, str]]:
    """(line, key path inside the file, the value) of every string holding ``${``."""
    found: list[tuple[int, str, str]] = []

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.ScalarNode):
            if _INTERPOLATION.search(node.value):
                found.append((node.start_mark.line + 1, path, node.value))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{path}[{index}]")
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and not (path == "" and key.value == "defaults"):
                    walk(value, _join(path, key.value))

    if config.node is not None:
        walk(config.node, "")
    return found


def _stub(name: str) -> Callable[..., str]:
    def stub(*_args: object) -> str:
        return f"<{name}>"

    return stub


def _stub_resolvers(names: set[str]) -> None:
    for name in names:
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_resolver(name, _stub(name), annotation_validation="off")


def _resolve(root: DictConfig, key: str) -> str | None:
    """None when ``key`` resolves in ``root``, else why not."""
    try:
        OmegaConf.select(root, key, throw_on_resolution_failure=True, throw_on_missing=False)
    except InterpolationToMissingValueError as err:
        return f"refers to a mandatory value (???) nobody set: {_first_line(err)}"
    except (InterpolationKeyError, InterpolationResolutionError) as err:
        return _first_line(err)
    except OmegaConfBaseException as err:
        return _first_line(err)
    return None


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def check_config_references(
    root: str, files: list[str], read: Callable[[str], bytes | None], checked: list[str] | None = None
) -> list[GateResult]:
    """Defaults and interpolations of ``checked`` (default: every YAML file under ``root``)."""
    tree = ConfigTree(root, files, read)
    targets = sorted(tree.files if checked is None else (set(checked) & tree.files))
    results: list[GateResult] = []
    primaries = [c for f in sorted(tree.files) if posixpath.dirname(f) == tree.root and (c := tree.config(f))]
    contexts: list[tuple[str, DictConfig, set[str]]] = []
    for primary in primaries:
        composed, included = tree.compose(primary, tree.package_of(primary))
        contexts.append((primary.path, composed, included))
    for path in targets:
        config = tree.config(path)
        if config is None:
            continue
        results += tree.missing_defaults(config)
        results += _check_interpolations(tree, config, contexts)
    results = tree.errors + results
    if not any(r.status != "passed" for r in results):
        results.append(
            GateResult(GATE, root, "passed", f"{len(targets)} config(s): defaults and interpolations resolve")
        )
    return results


def _check_interpolations(
    tree: ConfigTree, config: _Config, contexts: list[tuple[str, DictConfig, set[str]]]
) -> list[GateResult]:
    interpolations = _interpolations(config)
    if not interpolations:
        return []
    package = tree.package_of(config)
    including = [(name, cfg) for name, cfg, included in contexts if config.path in included]
    if including:
        worlds, certain = including, True
    elif contexts:
        own, _ = tree.compose(config, package)
        worlds, certain = [(name, _merge_at(cfg, "", own)) for name, cfg, _ in contexts], False
    else:
        lines = ", ".join(str(line) for line, _, value in interpolations if not _RESOLVER.search(value))
        if not lines:
            return []
        detail = (
            f"interpolations at line {lines} not checked: no primary config (a YAML file directly "
            f"in {tree.root}/) to compose them in"
        )
        return [GateResult(GATE, config.path, "warning", detail)]
    results = []
    for line, key, value in interpolations:
        where = f"{config.path}:{line}"
        resolvers = set(_RESOLVER.findall(value))
        if resolvers:
            _stub_resolvers(resolvers)
        full_key = _join(package, key) if not key.startswith("[") else package + key
        problems = [(name, why) for name, cfg in worlds if (why := _resolve(cfg, full_key)) is not None]
        if resolvers:
            names = ", ".join(sorted(resolvers))
            results.append(
                GateResult(GATE, where, "warning", f"{value}: unresolvable resolver {names} (not evaluated)")
            )
        elif problems and (len(problems) == len(worlds)):
            context = ", ".join(name for name, _ in problems)
            status: GateStatus = "failed" if certain else "warning"
            note = "" if certain else " (no primary config includes this file; checked as if selected)"
            results.append(
                GateResult(
                    GATE, where, status, f"{value} does not resolve in {context}: {problems[0][1]}{note}"
                )
            )
    return results
