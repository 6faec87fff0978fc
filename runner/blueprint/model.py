"""The Living Implementation Blueprint, parsed from bytes with every position kept.

The parser never normalises: it reads the file as bytes, splits lines keeping
their endings, and decodes each with ``surrogateescape`` so mojibake, Latin-1
bytes and invalid UTF-8 survive a round trip. Elements record byte offsets, so
edits (:mod:`runner.blueprint.edit`) replace exactly the bytes they mean to.
This module knows nothing of git, codemods or gates.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from runner.blueprint import front_matter
from runner.errors import BlueprintError
from runner.memo import active, memoized
from runner.records import datarecord, field, replace

BOM = b"\xef\xbb\xbf"
MAX_BLUEPRINT_BYTES = 4 * 1024 * 1024
MAX_FRONT_MATTER_BYTES = 64 * 1024
TRACKER_KEYS = ("STATUS", "CURRENT STEP", "LAST COMPLETED TASK", "NEXT TASK", "BLOCKER")
REQUIRED_TRACKER_KEYS = TRACKER_KEYS[:4]

_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
# Any indentation: a fence indented under a `- [ ]` step belongs to that step.
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_RULE = re.compile(r"^ {0,3}(-{3,}|\*{3,}|_{3,})\s*$")
_PHASE = re.compile(r"^Phase\s+([\w.-]+)\s*:\s*(.+)$", re.IGNORECASE)
_TASK = re.compile(
    r"^(?P<indent>\s*)(?P<num>\d+)\.\s+\[(?P<mark>[ xX])\]\s+"
    r"\*\*Task\s+(?P<id>[\w.-]+?)\s*:\s*(?P<title>.+?)\*\*\s*$"
)
_TASKISH = re.compile(r"^\s*\d+\.\s+\[[ xX]\]\s+\*\*Task\b")
_CHECKBOX = re.compile(r"^(?P<indent>\s*)[-*+]\s+\[(?P<mark>[ xX])\]\s+(?P<text>.*?)\s*$")
_TRACKER_FIELD = re.compile(
    r"^(?P<prefix>\s*[-*]\s+\*\*(?P<key>[A-Z][A-Z ]+?):\*\*[ \t]*)(?P<value>.*?)(?P<trail>[ \t]*)$"
)
_NUMBERED = re.compile(r"^\s*\d+\.\s+(?P<text>.+?)\s*$")
_PLAN_ID = re.compile(r"\bPLAN-\d+\b")


@datarecord(frozen=True)
class Line:
    """One line of the file: its number, byte offset, bytes and text."""

    number: int  # 1-based
    start: int  # byte offset of the first byte
    raw: bytes  # the line's bytes, ending included
    text: str  # decoded (surrogateescape), without ending or a leading BOM

    @property
    def ending(self) -> bytes:
        if self.raw.endswith(b"\r\n"):
            return b"\r\n"
        if self.raw.endswith((b"\n", b"\r")):
            return self.raw[-1:]
        return b""

    @property
    def content_end(self) -> int:
        return self.start + len(self.raw) - len(self.ending)


@datarecord(frozen=True)
class Checkbox:
    """A ``[ ]``/``[x]`` item: where its mark is, and its text."""

    line: int
    mark_offset: int  # byte offset of the character between the brackets
    checked: bool
    text: str


@datarecord(frozen=True)
class CodeBlock:
    """A fenced code block indented under a step: what a code-block step edits with."""

    line: int  # the opening fence's line
    last_line: int  # the closing fence's line
    info: str  # the info string: "python", "yaml", ""
    text: str  # the content, the fence's indentation removed from each line


@datarecord(frozen=True)
class Step(Checkbox):
    """A task's ``- [ ]`` step, with the code blocks indented under it."""

    blocks: tuple[CodeBlock, ...] = ()

    @property
    def last_line(self) -> int:
        return self.blocks[-1].last_line if self.blocks else self.line


@datarecord(frozen=True)
class Phase:
    """A ``Phase N: title`` heading of the outline."""

    key: str  # "1"
    title: str
    line: int


@datarecord(frozen=True)
class Task(Checkbox):
    """A ``1. [ ] **Task 1.1: Title**`` item of a phase, with its steps."""

    id: str  # "1.1"
    title: str
    phase: Phase
    steps: tuple[Step, ...]
    last_line: int  # the last line that belongs to the task

    @property
    def label(self) -> str:
        return f"Task {self.id}: {self.title}"


@datarecord(frozen=True)
class TrackerField:
    """A Progress Tracker field, with the byte span of its value."""

    key: str
    value: str
    line: int
    value_start: int  # byte span of the value, trailing blanks excluded
    value_end: int


@datarecord(frozen=True)
class Section:
    """A block of lines: ``first_line``..``last_line`` inclusive, after its heading."""

    heading_line: int
    first_line: int
    last_line: int


@datarecord(frozen=True)
class ChecklistItem(Checkbox):
    """A checkbox outside the outline, under a section heading."""

    section: str


@datarecord
class Blueprint:
    """A parsed blueprint: its bytes, lines, front matter, tracker, outline and checklist."""

    path: str
    source: bytes
    lines: list[Line]
    front_matter: dict[str, Any]
    title: str
    plan_id: str
    newline: bytes
    tracker: dict[str, TrackerField]
    tracker_section: Section
    phases: list[Phase] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    checklist: list[ChecklistItem] = field(default_factory=list)
    fallbacks: list[tuple[int, str]] = field(default_factory=list)
    next_action: Section | None = None

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        known = ", ".join(t.id for t in self.tasks) or "none"
        raise BlueprintError(
            f"no task {task_id!r} (tasks: {known})",
            path=self.path,
            code="unknown_task",
            data={"tasks": [t.id for t in self.tasks]},
        )

    def pending(self) -> list[Task]:
        return [t for t in self.tasks if not t.checked]

    @property
    def status(self) -> str:
        return self.tracker["STATUS"].value


def tracker_values(bp: Blueprint) -> dict[str, str]:
    """The Progress Tracker as its keys and values."""
    return {k: f.value for k, f in bp.tracker.items()}


def split_lines(source: bytes) -> list[Line]:
    lines: list[Line] = []
    offset = 0
    for number, raw in enumerate(source.splitlines(keepends=True), start=1):
        body = raw.rstrip(b"\r\n")
        if number == 1 and body.startswith(BOM):
            body = body[len(BOM) :]
        lines.append(Line(number, offset, raw, body.decode("utf-8", "surrogateescape")))
        offset += len(raw)
    return lines


def encode(text: str) -> bytes:
    """Text taken from a blueprint goes back as the bytes it came from."""
    return text.encode("utf-8", "surrogateescape")


def _dominant_newline(lines: list[Line]) -> bytes:
    endings = [ln.ending for ln in lines if ln.ending]
    if not endings:
        return b"\n"
    return max(set(endings), key=endings.count)


def _strip_bold(text: str) -> str:
    return text.replace("**", "").strip()


def _front_matter(lines: list[Line], path: str) -> tuple[dict[str, Any], int]:
    """The front matter mapping and the index of the first line after it."""
    if not lines or lines[0].text.strip() != "---":
        return {}, 0
    for index in range(1, len(lines)):
        if lines[index].text.strip() in ("---", "..."):
            text = "\n".join(ln.text for ln in lines[1:index])
            if len(encode(text)) > MAX_FRONT_MATTER_BYTES:
                raise BlueprintError("front matter is larger than 64 KiB", path=path, line=1)
            return front_matter.load(text, path), index + 1
    raise BlueprintError("front matter opened with '---' is never closed", path=path, line=1)


def _plan_id(title: str, path: str) -> str:
    found = _PLAN_ID.search(title) or _PLAN_ID.search(Path(path).name)
    return found.group(0) if found else Path(path).stem


class _Parser:
    def __init__(self, path: str, source: bytes) -> None:
        self.path = path
        self.source = source
        self.lines = split_lines(source)
        self.fences: dict[int, int] = {}  # opening fence line -> closing fence line

    def fail(self, message: str, line: int | None) -> BlueprintError:
        return BlueprintError(message, path=self.path, line=line)

    def parse(self) -> Blueprint:
        if not self.source.strip():
            raise self.fail("the blueprint is empty", None)
        if b"\x00" in self.source:
            line = self.source[: self.source.index(b"\x00")].count(b"\n") + 1
            raise self.fail("the blueprint contains a NUL byte (is it a binary file?)", line)
        front, body_start = _front_matter(self.lines, self.path)
        headings, in_fence = self._scan(body_start)

        title_value = front.get("title")
        title = str(title_value) if title_value is not None else ""
        if not title:
            title = next((_strip_bold(text) for _, level, text in headings if level == 1), "")
        tracker, tracker_section = self._tracker(headings, in_fence)
        blueprint = Blueprint(
            path=self.path,
            source=self.source,
            lines=self.lines,
            front_matter=front,
            title=title,
            plan_id=_plan_id(title, self.path),
            newline=_dominant_newline(self.lines),
            tracker=tracker,
            tracker_section=tracker_section,
        )
        self._outline(blueprint, body_start, headings, in_fence)
        if not blueprint.tasks:
            raise self.fail("the blueprint has no tasks ('1. [ ] **Task 1.1: Title**' under a phase)", None)
        self._checklist_and_fallbacks(blueprint, headings, in_fence)
        blueprint.next_action = self._section(headings, "immediate next action")
        return blueprint

    def _scan(self, body_start: int) -> tuple[list[tuple[int, int, str]], set[int]]:
        """Headings as (line, level, text) and the set of lines inside code fences."""
        headings: list[tuple[int, int, str]] = []
        in_fence: set[int] = set()
        fence: str | None = None
        fence_line = 0
        for line in self.lines[body_start:]:
            match = _FENCE.match(line.text)
            if fence is not None:
                in_fence.add(line.number)
                # A closing fence: the same character, at least as long, nothing after it.
                closes = (
                    match and match.group("fence")[0] == fence[0] and len(match.group("fence")) >= len(fence)
                )
                if closes and not line.text.strip().lstrip(fence[0]):
                    fence = None
                    self.fences[fence_line] = line.number
                continue
            if match:
                fence, fence_line = match.group("fence"), line.number
                in_fence.add(line.number)
                continue
            heading = _HEADING.match(line.text)
            if heading:
                headings.append((line.number, len(heading.group(1)), heading.group(2)))
        if fence is not None:
            raise self.fail("code fence is never closed", fence_line)
        return headings, in_fence

    def _section(self, headings: list[tuple[int, int, str]], needle: str) -> Section | None:
        for index, (number, level, text) in enumerate(headings):
            if needle in _strip_bold(text).lower():
                end = len(self.lines)
                for later_number, later_level, _ in headings[index + 1 :]:
                    if later_level <= level:
                        end = later_number - 1
                        break
                # A horizontal rule closes the section too.
                for line in self.lines[number:end]:
                    if _RULE.match(line.text):
                        end = line.number - 1
                        break
                return Section(number, number + 1, end)
        return None

    def _tracker(
        self, headings: list[tuple[int, int, str]], in_fence: set[int]
    ) -> tuple[dict[str, TrackerField], Section]:
        section = self._section(headings, "progress tracker")
        if section is None:
            raise self.fail("no '## Progress Tracker' section", None)
        fields: dict[str, TrackerField] = {}
        for line in self.lines[section.first_line - 1 : section.last_line]:
            if line.number in in_fence:
                continue
            match = _TRACKER_FIELD.match(line.text)
            if not match or match.group("key") not in TRACKER_KEYS:
                continue
            key = match.group("key")
            if key in fields:
                raise self.fail(
                    f"tracker field {key} appears twice (first at line {fields[key].line})",
                    line.number,
                )
            start = self._byte_offset(line, match.start("value"))
            value = match.group("value")
            fields[key] = TrackerField(key, value, line.number, start, start + len(encode(value)))
        missing = [k for k in REQUIRED_TRACKER_KEYS if k not in fields]
        if missing:
            raise self.fail(f"the Progress Tracker lacks {', '.join(missing)}", section.heading_line)
        return fields, section

    def _outline(
        self,
        blueprint: Blueprint,
        body_start: int,
        headings: list[tuple[int, int, str]],
        in_fence: set[int],
    ) -> None:
        heading_at = {number: (level, text) for number, level, text in headings}
        phase: Phase | None = None
        seen: dict[str, int] = {}
        index = body_start
        while index < len(self.lines):
            line = self.lines[index]
            index += 1
            if line.number in in_fence:
                continue
            if line.number in heading_at:
                match = _PHASE.match(_strip_bold(heading_at[line.number][1]))
                if match:
                    phase = Phase(match.group(1), match.group(2).strip(), line.number)
                    blueprint.phases.append(phase)
                elif phase is not None and heading_at[line.number][0] <= 3:
                    phase = None  # a higher-level heading ends the outline's phases
                continue
            task_match = _TASK.match(line.text)
            if not task_match:
                if _TASKISH.match(line.text):
                    raise self.fail("malformed task line; expected '1. [ ] **Task 1.1: Title**'", line.number)
                continue
            task_id = task_match.group("id")
            if phase is None:
                raise self.fail(f"Task {task_id} is not under a '#### **Phase N: ...**' heading", line.number)
            if task_id in seen:
                raise self.fail(f"duplicate task id {task_id} (first at line {seen[task_id]})", line.number)
            seen[task_id] = line.number
            steps, index = self._steps(index, in_fence, heading_at)
            if not steps:
                raise self.fail(f"Task {task_id} has no '- [ ]' steps", line.number)
            blueprint.tasks.append(
                Task(
                    line=line.number,
                    mark_offset=self._byte_offset(line, task_match.start("mark")),
                    checked=task_match.group("mark") != " ",
                    text=line.text.strip(),
                    id=task_id,
                    title=task_match.group("title").strip(),
                    phase=phase,
                    steps=tuple(steps),
                    last_line=steps[-1].last_line,
                )
            )

    def _steps(
        self, index: int, in_fence: set[int], heading_at: dict[int, tuple[int, str]]
    ) -> tuple[list[Step], int]:
        steps: list[Step] = []
        while index < len(self.lines):
            line = self.lines[index]
            fence = _FENCE.match(line.text) if line.number in self.fences else None
            if fence and steps and fence.group("indent"):
                block, index = self._code_block(index, fence)
                steps[-1] = replace(steps[-1], blocks=(*steps[-1].blocks, block))
                continue
            if line.number in in_fence or line.number in heading_at or _TASKISH.match(line.text):
                break
            if _RULE.match(line.text):
                break
            match = _CHECKBOX.match(line.text)
            if match and match.group("indent"):
                steps.append(
                    Step(
                        line=line.number,
                        mark_offset=self._byte_offset(line, match.start("mark")),
                        checked=match.group("mark") != " ",
                        text=match.group("text"),
                    )
                )
            elif line.text.strip() and not line.text[:1].isspace():
                break  # unindented prose ends the task
            index += 1
        return steps, index

    def _code_block(self, index: int, fence: re.Match[str]) -> tuple[CodeBlock, int]:
        """The fenced block opening at ``self.lines[index]`` and the index after its closing fence."""
        opener = self.lines[index]
        closer = self.fences[opener.number]
        width = len(fence.group("indent"))
        content: list[str] = []
        for line in self.lines[opener.number : closer - 1]:
            # CommonMark: up to the fence's indentation is removed from each content line.
            text = line.text
            content.append(text[min(width, len(text) - len(text.lstrip(" "))) :])
        block = CodeBlock(opener.number, closer, fence.group("info").strip(), "\n".join(content))
        return block, closer  # ``closer`` (1-based) is the index of the line after it

    def _byte_offset(self, line: Line, char_index: int) -> int:
        """The byte offset in the file of character ``char_index`` of ``line.text``."""
        bom = len(BOM) if line.number == 1 and line.raw.startswith(BOM) else 0
        return line.start + bom + len(encode(line.text[:char_index]))

    def _checklist_and_fallbacks(
        self, blueprint: Blueprint, headings: list[tuple[int, int, str]], in_fence: set[int]
    ) -> None:
        task_lines = {s.line for t in blueprint.tasks for s in t.steps} | {t.line for t in blueprint.tasks}
        section = ""
        heading_at = {number: text for number, _, text in headings}
        fallback = self._section(headings, "fallback option") or self._section(headings, "fallback")
        for line in self.lines:
            if line.number in in_fence or line.number in task_lines:
                continue
            if line.number in heading_at:
                section = _strip_bold(heading_at[line.number]).rstrip(":")
                continue
            if fallback and fallback.first_line <= line.number <= fallback.last_line:
                match = _NUMBERED.match(line.text)
                if match:
                    blueprint.fallbacks.append((line.number, match.group("text")))
                continue
            box = _CHECKBOX.match(line.text)
            if box and section and line.number > blueprint.tracker_section.last_line:
                blueprint.checklist.append(
                    ChecklistItem(
                        line=line.number,
                        mark_offset=self._byte_offset(line, box.start("mark")),
                        checked=box.group("mark") != " ",
                        text=box.group("text"),
                        section=section,
                    )
                )


def parse_blueprint(source: bytes, path: str) -> Blueprint:
    """Parse ``source``; raise :class:`BlueprintError` with file and line on bad input.

    Within a command the same bytes are parsed once (a run reads back each tracker update it
    wrote and computes its tasks ahead; every response's next_action reads the blueprint the
    command read): the result is never changed after parsing.
    """
    if len(source) > MAX_BLUEPRINT_BYTES:
        raise BlueprintError("the blueprint is larger than 4 MiB", path=path)
    parse = _Parser(path, source).parse
    return memoized(("blueprint", source, path), parse) if active() else parse()


def load_blueprint(path: Path, display: str | None = None) -> Blueprint:
    shown = display or str(path)
    try:
        if path.is_dir():
            raise BlueprintError("is a directory, not a blueprint", path=shown)
        source = path.read_bytes()
    except FileNotFoundError:
        raise BlueprintError("no such file", path=shown) from None
    except OSError as err:
        raise BlueprintError(f"cannot be read ({err.strerror})", path=shown) from None
    return parse_blueprint(source, shown)
