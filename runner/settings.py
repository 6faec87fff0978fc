"""``[tool.runner]`` in the target repository's ``pyproject.toml``.

Read with :mod:`tomllib` (never executed, never trusted beyond its types): which
automatic gates run, default options per codemod (a blueprint's ``with`` options
still win), and the branches the runner refuses to commit on. ``runner init``
appends a commented default table with :mod:`tomlkit`, keeping every byte that
was already in the file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from runner.errors import InputError
from runner.memo import memoized
from runner.records import datarecord, field

GATES = ("syntax", "undefined-names", "imports", "yaml")
PYPROJECT = "pyproject.toml"


@datarecord(frozen=True)
class Settings:
    """The ``[tool.runner]`` table, read and checked (the defaults without one)."""

    gates: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(GATES, True))
    codemod_options: dict[str, dict[str, str]] = field(default_factory=dict)
    protected_branches: tuple[str, ...] = ()
    keep_import_server: float = 0.0  # seconds the import gate's server waits for the next run
    source: str = ""  # where they were read from, for messages

    def gate_on(self, gate: str) -> bool:
        return self.gates.get(gate, True)


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise InputError(f"is not valid TOML: {err}", path=path) from None
    import tomlkit  # Python 3.10 has no tomllib
    from tomlkit.exceptions import ParseError

    try:
        return tomlkit.parse(text).unwrap()
    except ParseError as err:
        raise InputError(f"is not valid TOML: {err}", path=path, line=err.line) from None


def _fail(key: str, message: str, path: str) -> InputError:
    return InputError(f"[tool.runner] {key}: {message}", path=path)


def parse_settings(text: str, path: str = PYPROJECT) -> Settings:
    if "runner" not in text and "\\" not in text:
        # No [tool.runner] table can be written without the word (short of a quoted key's
        # escapes), so the defaults stand, without the TOML parser's start-up.
        return Settings(source=path)
    table = _parse_toml(text, path).get("tool", {}).get("runner")
    if table is None:
        return Settings(source=path)
    if not isinstance(table, dict):
        raise _fail("", "is not a table", path)
    known = ("gates", "codemods", "protected-branches", "keep-import-server")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise _fail(unknown[0], f"unknown key (known: {', '.join(known)})", path)
    keep = table.get("keep-import-server", 0)
    if isinstance(keep, bool) or not isinstance(keep, int | float) or not 0 <= keep <= 86400:
        raise _fail("keep-import-server", "must be a number of seconds from 0 to 86400", path)
    gates = dict.fromkeys(GATES, True)
    for name, on in dict(table.get("gates", {})).items():
        if name not in GATES:
            raise _fail(f"gates.{name}", f"unknown gate (known: {', '.join(GATES)})", path)
        if not isinstance(on, bool):
            raise _fail(f"gates.{name}", "must be true or false", path)
        gates[name] = on
    options: dict[str, dict[str, str]] = {}
    for codemod, values in dict(table.get("codemods", {})).items():
        if not isinstance(values, dict):
            raise _fail(f"codemods.{codemod}", "must be a table of options", path)
        for key, value in values.items():
            if isinstance(value, dict | list):
                raise _fail(f"codemods.{codemod}.{key}", "must be a string, number or boolean", path)
        # Options reach the codemod as the text a blueprint's `with k=v` would give.
        options[codemod] = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in values.items()}
    branches = table.get("protected-branches", [])
    if not isinstance(branches, list) or not all(isinstance(b, str) for b in branches):
        raise _fail("protected-branches", "must be a list of branch names", path)
    return Settings(gates, options, tuple(branches), float(keep), path)


def load_settings(root: Path) -> Settings:
    """The repository's settings; the defaults when it has no pyproject.toml or no table."""
    path = root / PYPROJECT
    if not path.is_file():
        return Settings()
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"is not UTF-8 (byte {err.start})", path=PYPROJECT) from None
    return memoized(("settings", text), lambda: parse_settings(text, PYPROJECT))


def default_table() -> str:
    """The commented ``[tool.runner]`` table ``runner init`` writes."""
    import tomlkit

    runner = tomlkit.table()
    runner.add(tomlkit.comment("blueprint runner settings (its README, section Configuration)."))
    runner.add(tomlkit.comment('Branches the runner refuses to commit on, e.g. ["main", "release"].'))
    runner.add("protected-branches", tomlkit.array())
    runner.add(tomlkit.comment("Seconds the import gate's server, with torch & co. imported, waits for the"))
    runner.add(tomlkit.comment("next run (0: it stops with the run). README, section Kept import server."))
    runner.add("keep-import-server", 0)
    gates = tomlkit.table()
    gates.add(
        tomlkit.comment("Automatic gates on every changed file; a blueprint's own gate steps always run.")
    )
    for name in GATES:
        gates.add(name, True)
    runner.add("gates", gates)
    codemods = tomlkit.table()
    codemods.add(tomlkit.comment("Default options per codemod; a step's `with k=v` overrides them."))
    codemods.add(tomlkit.comment("[tool.runner.codemods.remove-detach-cpu]"))
    codemods.add(tomlkit.comment('method = "validation_step"'))
    runner.add("codemods", codemods)
    document = tomlkit.document()
    tool = tomlkit.table(is_super_table=True)
    tool.add("runner", runner)
    document.add("tool", tool)
    return tomlkit.dumps(document)


def init_pyproject(root: Path) -> tuple[bytes | None, bytes, str]:
    """(old bytes or None, new bytes, message). Nothing to do: new == old.

    The table is appended after the file's last byte; every existing byte stays
    where it was. The result is parsed again before it is returned.
    """
    path = root / PYPROJECT
    old = path.read_bytes() if path.is_file() else None
    text = old.decode("utf-8", "surrogateescape") if old is not None else ""
    if old is not None and "runner" in _parse_toml(text, PYPROJECT).get("tool", {}):
        return old, old, f"{PYPROJECT} already has [tool.runner]; left as it is"
    newline = "\r\n" if "\r\n" in text else "\n"
    table = default_table().replace("\n", newline)
    if text and not text.endswith(("\n", "\r")):
        text += newline
    new_text = text + (newline if text.strip() else "") + table if text else table
    parse_settings(new_text, PYPROJECT)  # the result must read back as valid settings
    new = new_text.encode("utf-8", "surrogateescape")
    return old, new, f"wrote a commented [tool.runner] table to {PYPROJECT}"
