"""``runner new``: a blueprint with PLAN-001's shape, rendered from a sandboxed template.

The title and author enter the template only as variables (a title of ``{{ 7*7 }}``
stays literal) and as JSON strings in the front matter, which YAML reads back
exactly. The rendered text is parsed before it is returned, and its Immediate
Next Action block is the one the runner itself writes.
"""

from __future__ import annotations

import datetime
import json
import re

from runner.blueprint.edit import Edit, apply_edits, next_action_text
from runner.blueprint.model import Blueprint, parse_blueprint
from runner.errors import InputError
from runner.templating import render

_PLAN_ID = re.compile(r"PLAN-\d+")


def new_blueprint(plan_id: str, title: str, *, author: str = "", date: datetime.date | None = None) -> bytes:
    if not _PLAN_ID.fullmatch(plan_id):
        raise InputError(f"{plan_id!r} is not a plan id like PLAN-006")
    title = title.strip()
    if not title or any(ch in title for ch in "\r\n\x00"):
        raise InputError("--title must be one non-empty line")
    if _PLAN_ID.search(title):
        raise InputError("--title is the plan's name without its id (the id is added)")
    full_title = f"{plan_id}: {title}"
    text = render(
        "blueprint.md.j2",
        plan_id=plan_id,
        full_title=full_title,
        title_yaml=json.dumps(full_title, ensure_ascii=False),
        author_yaml=json.dumps(author or "", ensure_ascii=False),
        date=(date or datetime.date.today()).isoformat(),
        first_phase="First Phase",
        first_task="Describe the First Change",
    )
    source = text.encode("utf-8")
    blueprint: Blueprint = parse_blueprint(source, f"{plan_id}.md")
    if blueprint.plan_id != plan_id or blueprint.title != full_title:
        raise InputError(f"the title does not survive the front matter: {title!r}")
    return _with_next_action(blueprint)


def _with_next_action(bp: Blueprint) -> bytes:
    """The Immediate Next Action block as the runner writes it after every task."""
    section = bp.next_action
    assert section is not None, "the template has an Immediate Next Action section"
    first, last = bp.lines[section.first_line - 1], bp.lines[section.last_line - 1]
    block = next_action_text(bp.tasks[0], bp.plan_id).encode("utf-8")
    return apply_edits(bp.source, [Edit(first.start, last.start + len(last.raw), block)])


def file_name(plan_id: str, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "plan"
    return f"{plan_id}-{slug}.md"
