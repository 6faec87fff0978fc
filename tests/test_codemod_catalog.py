"""The declarations (what lint and next check codemod steps with, LibCST not imported) say
what the codemod classes say: names, descriptions, options, resolved values, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemods import catalog, registry

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "codemods"

# Options a blueprint or `--arg` may give, good and bad, per codemod (text, as parsed from a step).
GIVEN: list[tuple[str, dict[str, object]]] = [
    ("clamp-inputs", {}),
    ("clamp-inputs", {"min": "2", "max": "1"}),
    ("clamp-inputs", {"max": "inf"}),
    ("clamp-inputs", {"function": "Dice.<locals>"}),
    ("clamp-inputs", {"param": "not an identifier"}),
    ("clamp-inputs", {"check_finite": "maybe"}),
    ("clamp-inputs", {"nope": "1"}),
    ("lazy-import", {"module": "numpy.linalg"}),
    ("lazy-import", {"module": "os; rm"}),
    ("reciprocal-exp-to-sigmoid", {"clamp": "10"}),
    ("reciprocal-exp-to-sigmoid", {"clamp": "-1"}),
    ("reciprocal-exp-to-sigmoid", {"clamp": "nan"}),
    ("reciprocal-exp-to-sigmoid", {"clamp": True}),
    ("remove-detach-cpu", {"method": "test_step"}),
    ("replace-calls", {}),
    ("replace-calls", {"old": "a.f", "new": "a.f"}),
    ("replace-calls", {"old": "a.f", "new": "b.g"}),
    ("replace-calls", {"old": "f", "new": "b.g"}),
    ("replace-default", {"function": "f", "param": "x", "value": "50.0", "expect": "1e3"}),
    ("replace-default", {"function": "f", "param": "x", "value": "1, 2"}),
    ("replace-default", {"function": "f", "param": "x", "value": "(1, 2)"}),
    ("replace-default", {"function": "f", "param": "x", "value": "__import__('os').system('x')"}),
    ("replace-default", {"function": "f", "param": "x", "value": "1", "expect": "x := 1"}),
    ("replace-default", {"function": "f", "param": "x", "value": "1", "expect": "yield"}),
    ("replace-default", {"function": "f", "param": "x", "value": ""}),
    ("replace-default", {"function": "f", "param": "x", "value": 3}),
    *((case.parent.name, json.loads(case.read_text())) for case in sorted(FIXTURES.glob("*/*.options.json"))),
]


def test_the_catalog_names_every_codemod_with_its_class_description_and_options() -> None:
    classes = registry()
    assert set(catalog()) == set(classes)
    for name, declaration in catalog().items():
        assert declaration.load() is classes[name]
        assert declaration.DESCRIPTION == classes[name].DESCRIPTION
        assert declaration.OPTIONS == classes[name].OPTIONS


@pytest.mark.parametrize(("name", "given"), GIVEN, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GIVEN)])
def test_the_catalog_resolves_and_refuses_options_as_the_codemod_does(
    name: str, given: dict[str, object]
) -> None:
    def outcome(resolve: object) -> tuple[str, object]:
        try:
            return "ok", resolve(given)  # type: ignore[operator]
        except ValueError as err:
            return "refused", str(err)

    assert outcome(catalog()[name].resolve_options) == outcome(registry()[name].resolve_options)
