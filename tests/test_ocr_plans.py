"""PLAN-002 to PLAN-005 run on the demo OCR project, and the code they leave runs.

Each plan runs through the CLI on a fresh git copy of ``fixtures/ocr-project``; the rewritten
modules are then imported from that copy in a child interpreter (so nothing leaks between
tests) and exercised: the shared polygon validators drop exactly what the three inline copies
dropped, the cached engine is built once per checkpoint (and per call with the flag off), the
removed legacy files are in their archives, and the training entry point no longer pays for the
tracking helpers (the stand-in for wandb's import cost) at import.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runner.demo import make_demo_repo
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

FIXTURE = ROOT / "fixtures" / "ocr-project"


def _run_plan(tmp_path: Path, name: str) -> Path:
    return _run_plan_document(tmp_path, name)[0]


def _run_plan_document(tmp_path: Path, name: str) -> tuple[Path, dict[str, Any]]:
    blueprint = ROOT / "blueprints" / name
    repo = make_demo_repo(tmp_path / "repo", [blueprint], FIXTURE)
    done = subprocess.run(
        [sys.executable, "-m", "runner", "run", f"blueprints/{name}", "--json"],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    document = json.loads(done.stdout)
    assert done.returncode == 0, document["message"]
    assert all(t["outcome"] == "completed" for t in document["tasks"])
    return repo, document


def _python(repo: Path, code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` with the plan's result importable; wandb and streamlit are stand-ins."""
    prelude = "import sys, types\nsys.modules['wandb'] = types.ModuleType('wandb')\n"
    prelude += "sys.modules['streamlit'] = types.ModuleType('streamlit')\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


POLYGONS = """
    import numpy as np
    polygons = [
        [[0, 0], [10, 0], [10, 10], [0, 10]],  # kept
        [[0, 0], [1, 1]],                      # fewer than 3 points
        [[0, 0], [5, 5], [10, 10]],            # zero area
        [[0, 0], [float("nan"), 0], [3, 3]],   # NaN
        [1, 2, 3],                             # not N x 2
    ]
"""


def test_plan_002_shared_validators_drop_what_the_copies_dropped(tmp_path: Path) -> None:
    check = (
        POLYGONS
        + """
    import json, tempfile, torch
    from ocr.datasets.base import OCRDataset
    from ocr.datasets.db_collate_fn import DBCollateFN
    from ocr.lightning_modules.callbacks.wandb_image_logging import WandbImageLoggingCallback
    folder = tempfile.mkdtemp()
    words = {str(i): {"points": p} for i, p in enumerate(polygons)}
    json.dump({"images": {"a.jpg": {"words": words}}}, open(f"{folder}/a.json", "w"))
    kept = [
        len(OCRDataset(folder, f"{folder}/a.json")[0]["polygons"]),
        len(DBCollateFN()([{"image": torch.zeros(3, 32, 32), "polygons": polygons[:4]}])["polygons"][0]),
        len(WandbImageLoggingCallback._drawable(polygons)),
    ]
    print(kept)
    """
    )
    before = _python(FIXTURE, check)
    repo = _run_plan(tmp_path, "PLAN-002-polygon-validation-consolidation.md")
    after = _python(repo, check)
    assert before == after == "[1, 1, 1]\n"
    for module in (
        "datasets/base.py",
        "datasets/db_collate_fn.py",
        "lightning_modules/callbacks/wandb_image_logging.py",
    ):
        text = (repo / "ocr" / module).read_text()
        assert "polygon_problem(" in text and "polygon_area(" not in text  # no copy of the checks left
    shared = _python(
        repo,
        POLYGONS
        + """
    from ocr.utils.polygon_validators import polygon_problem, is_valid_polygon
    problems = [polygon_problem(np.asarray(p, dtype=np.float32)) for p in polygons[:4]]
    print(problems, is_valid_polygon(polygons[0]))
    """,
    )
    assert shared == (
        "[None, 'polygon has fewer than 3 points', 'degenerate polygon (zero area)', "
        "'polygon has NaN/Inf coordinates'] True\n"
    )


ENGINE = """
    import numpy as np, tempfile, torch
    from ocr.models.head.db_head import DBHead
    checkpoint = tempfile.mktemp(suffix=".pt")
    torch.save(DBHead(in_channels=8).state_dict(), checkpoint)
    from ui.utils.inference import get_engine
    from ui.apps.inference.services.inference_runner import run_inference
    image = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    result = run_inference(image, checkpoint)
    print(get_engine(checkpoint) is get_engine(checkpoint), result["mask"].shape)
"""


def test_plan_004_one_engine_per_checkpoint_behind_a_flag(tmp_path: Path) -> None:
    repo = _run_plan(tmp_path, "PLAN-004-inference-service-consolidation.md")
    assert _python(repo, ENGINE) == "True (16, 16)\n"
    assert _python(repo, ENGINE, {"OCR_CACHED_ENGINE": "0"}) == "False (16, 16)\n"  # the old path
    for service in (
        "inference/services/inference_runner.py",
        "unified_ocr_app/services/inference_service.py",
    ):
        text = (repo / "ui" / "apps" / service).read_text()
        assert "InferenceEngine(" not in text and "predict_path" not in text
        # No leftovers: the comments about the old code went with it, the imports it alone used too.
        assert "Round trip" not in text and "A new engine per call" not in text
        assert "import tempfile" not in text
    service = (repo / "ui/apps/unified_ocr_app/services/inference_service.py").read_text()
    assert "import os" not in service and "from pathlib import Path" not in service
    runner = (repo / "ui/apps/inference/services/inference_runner.py").read_text()
    assert "import os\n" in runner  # still used by DEFAULT_CHECKPOINT


def test_plan_005_archives_what_it_removes(tmp_path: Path) -> None:
    repo = _run_plan(tmp_path, "PLAN-005-legacy-cleanup-config-consolidation.md")
    assert not (repo / ".backup").exists() and not (repo / "scripts" / "debug_cuda.sh").exists()
    with tarfile.open(repo / "archive" / "scripts-backup.tar.gz") as archive:
        names = sorted(archive.getnames())
    assert ".backup/scripts-backup-20251028/debug_cuda.sh" in names
    with tarfile.open(repo / "archive" / "scripts-backup.tar.gz") as archive:
        member = archive.extractfile(".backup/scripts-backup-20251104/train_old.py")
        assert member is not None
        assert member.read() == (FIXTURE / ".backup/scripts-backup-20251104/train_old.py").read_bytes()
    assert "scripts/debug_cuda.sh" not in (repo / "docs" / "debugging.md").read_text()
    assert "scripts/debug_cuda.py" in (repo / "configs" / "debug" / "cuda.yaml").read_text()


def test_plan_003_moves_the_tracking_helpers_out_of_the_import_path(tmp_path: Path) -> None:
    repo, document = _run_plan_document(tmp_path, "PLAN-003-import-time-optimization.md")
    task = next(t for t in document["tasks"] if t["id"] == "1.4")
    gate = next(g for g in task["gates"] if g["gate"] == "import-time")
    # ocr.utils.tracking builds its table at import (the wandb stand-in): tens of ms before, ~1 after.
    assert gate["status"] == "passed" and gate["target"] == "runners.train (at most 70%)", gate
    assert gate["isolation"]  # the import gate's containment, named
    imported = _python(
        repo,
        """
    import sys, runners.train as train
    print("ocr.utils.tracking" in sys.modules)
    sys.modules["wandb"].init = lambda **kwargs: print(kwargs["name"])
    train.setup_logging({"wandb": True, "project": "ocr"})
    print("ocr.utils.tracking" in sys.modules)
    """,
    )
    assert imported.splitlines()[0] == "False" and imported.splitlines()[2] == "True"
    assert imported.splitlines()[1].count("-") == 2  # a run name such as brisk-otter-004211
