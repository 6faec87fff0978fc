"""Commands that fit the runner into a project: `lint [--fix]`, `new`, `init`, `check`.

None of them needs a git repository: `lint` checks a blueprint against the files
of a directory, `new` writes a blueprint, `init` a ``[tool.runner]`` table, and
`check` runs the gates on files (a pre-commit hook); where a repository is there,
`check` compares with HEAD so only new undefined names fail.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from runner.blueprint.model import load_blueprint, parse_blueprint
from runner.blueprint.suggest import findings
from runner.errors import ExitCode, InputError, RunnerError
from runner.fsutil import atomic_write
from runner.gates import GateResult
from runner.report import CheckData, CommandReport, LintData, LintStep, WrittenData
from runner.settings import init_pyproject, load_settings
from runner.tasks import inserts_code, lint_steps
from runner.workspace import fix_blueprint

YAML_SUFFIXES = (".yaml", ".yml")
HeadReader = Callable[[Path], bytes | None]


def _directory(repo: Path) -> Path:
    if not repo.is_dir():
        raise InputError("is not a directory", path=str(repo), code="not_a_repo")
    return repo.resolve()


def lint(repo: Path, blueprint: Path, *, fix: bool = False) -> CommandReport:
    """Classify every step, collect every error, suggest grammar steps for manual ones."""
    root = _directory(repo)
    display = str(blueprint)
    bp = load_blueprint(blueprint, display)
    report = CommandReport("lint", plan=bp.plan_id, blueprint=display, repo=str(root))
    fixed = fix_blueprint(bp, root, display)
    if fix and fixed.suggestions:
        atomic_write(blueprint, fixed.source)
        bp = parse_blueprint(fixed.source, display)
    steps: list[LintStep] = []
    errors: list[str] = []
    path_warnings: list[str] = []
    for finding in lint_steps(bp, root):
        entry = LintStep(task=finding.task, line=finding.step.line, text=finding.step.text, kind=finding.kind)
        if finding.planned is not None:
            entry["files"] = finding.files
            entry["inserts_code"] = inserts_code(finding.planned)
        if finding.notes:
            entry["notes"] = finding.notes  # "PATH is created by Task X"
        if finding.warnings:
            entry["warnings"] = finding.warnings
        steps.append(entry)
        errors += finding.errors
        path_warnings += finding.warnings
    warnings = findings(bp)
    report.data = LintData(
        steps=steps,
        errors=errors,
        warnings=path_warnings,
        suggestions=[s.as_dict() for s in fixed.suggestions],
        findings=[f.as_dict() for f in warnings],
        fixed=bool(fix and fixed.suggestions),
        diff=fixed.diff if fixed.suggestions else "",
    )
    kinds: dict[str, int] = {}
    for entry in steps:
        kinds[entry["kind"]] = kinds.get(entry["kind"], 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    if errors:
        report.exit_code = ExitCode.INPUT_ERROR
        report.code = "blueprint_invalid"
        report.message = f"{len(errors)} error(s); {summary}"
        return report
    done = "rewrote" if fix and fixed.suggestions else "can rewrite (--fix)"
    extra = f"; {done} {len(fixed.suggestions)} manual step(s)" if fixed.suggestions else ""
    extra += f"; {len(warnings) + len(path_warnings)} warning(s)" if warnings or path_warnings else ""
    report.message = f"ok: {summary}{extra}" + _code_steps_note(
        [entry["line"] for entry in steps if entry.get("inserts_code")]
    )
    return report


def new(repo: Path, plan_id: str, title: str, output: Path | None) -> CommandReport:
    from runner.scaffold import file_name, new_blueprint

    root = _directory(repo)
    source = new_blueprint(plan_id, title)
    path = output if output is not None else root / "blueprints" / file_name(plan_id, title)
    if path.exists():
        raise InputError("already exists; the runner never overwrites a blueprint", path=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, source)
    report = CommandReport("new", plan=plan_id, blueprint=str(path), repo=str(root))
    report.data = WrittenData(path=str(path), changed=True)
    report.message = f"wrote {path}; write its steps, then `runner lint {path}`"
    return report


def init(repo: Path) -> CommandReport:
    root = _directory(repo)
    old, new_bytes, message = init_pyproject(root)
    path = root / "pyproject.toml"
    if new_bytes != old:
        atomic_write(path, new_bytes)
    report = CommandReport("init", repo=str(root), message=message)
    report.data = WrittenData(path=str(path), changed=new_bytes != old)
    return report


def check(repo: Path, files: list[Path]) -> CommandReport:
    """Syntax, YAML and undefined-names gates on ``files`` (pre-commit passes the staged ones)."""
    from runner.gates.syntax import check_syntax
    from runner.gates.undefined import check_undefined
    from runner.gates.yaml_gate import check_yaml

    root = _directory(repo)
    settings = load_settings(root)
    baseline = _head_reader(root)
    results: list[GateResult] = []
    for file in files:
        path = file if file.is_absolute() else Path.cwd() / file
        if not path.is_file():
            raise InputError("no such file", path=str(file))
        source = path.read_bytes()
        shown = str(file)
        if path.suffix == ".py":
            if settings.gate_on("syntax"):
                results.append(check_syntax(source, shown))
            if settings.gate_on("undefined-names"):
                results.append(check_undefined(baseline(path), source, shown))
        elif path.suffix in YAML_SUFFIXES and settings.gate_on("yaml"):
            results.append(check_yaml(source, shown))
    failed = [g for g in results if g.status == "failed"]
    report = CommandReport("check", repo=str(root))
    report.data = CheckData(gates=[g.as_dict() for g in results])
    if failed:
        report.exit_code = ExitCode.TASK_FAILED
        report.code = "gates_failed"
        report.message = "; ".join(g.line() for g in failed)
    else:
        report.message = f"{len(results)} gate(s) passed on {len(files)} file(s)"
    return report


def _head_reader(root: Path) -> HeadReader:
    """The HEAD version of a file, so existing undefined names do not fail `check`."""
    try:
        from runner.repository import Repository

        repo = Repository(root, enclosing=True)
        repo.head()
    except (RunnerError, ImportError):
        return lambda _path: None

    def read(path: Path) -> bytes | None:
        try:
            return repo.read_head(path.resolve().relative_to(repo.root).as_posix())
        except ValueError:
            return None

    return read


def _code_steps_note(lines: list[int]) -> str:
    """Names the steps that write code taken from the plan, for a reviewer to read first."""
    if not lines:
        return ""
    many = len(lines) > 1
    return (
        f"; {len(lines)} step{'s' if many else ''} insert{'' if many else 's'} code written in the plan "
        f"(line{'s' if many else ''} {', '.join(map(str, lines))}): review {'them' if many else 'it'} "
        "before running"
    )
