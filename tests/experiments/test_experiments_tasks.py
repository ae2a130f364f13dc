"""A task is one module: a third one (``tests/harness/toy_task.py``) runs a search, a retrain, an
evaluation and a predict through the real commands, and no module outside a task's own file
branches on a task's name."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRARY = ("lens_search", "bench")
TASK_FILES = (
    "lens_search/experiments/tasks/classify.py",
    "lens_search/experiments/tasks/superres.py",
)
TASK_WORDS = {"classify", "superres"}
"""The registered tasks' names (and what a branch on them would compare with)."""
TASK_FLAGS = {"has_backbone", "is_classify", "is_superres"}


def test_a_third_task_in_one_file_searches_retrains_evaluates_and_predicts(
    local_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lens_search.experiments.tasks import TASKS
    from lens_search.results.evaluate import evaluate
    from lens_search.results.predict import predict
    from lens_search.results.retrain import retrain
    from lens_search.search.cli import main_for
    from tests.harness.toy_task import NAME, write_toy_data

    assert NAME in TASKS  # registered by importing its own module, nothing else
    data = write_toy_data(tmp_path / "data")
    runs = tmp_path / "runs"
    argv = ["--data", str(data), "--samples", "3", "--max-epochs", "2", "--seed", "0"]
    with pytest.raises(SystemExit) as done:
        main_for(NAME, [*argv, "--storage", str(runs), "--name", "toy-search", "--quiet"])
    out = capsys.readouterr().out
    assert done.value.code == 0, out
    table = pd.read_csv(runs / "toy-search" / "leaderboard.csv")
    assert len(table) == 3 and {"config/lr", "config/units"} <= set(table.columns)
    assert table.filter(like="val_accuracy").notna().all().all()

    folder = retrain(str(runs / "toy-search"), epochs=3, verbose=0)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["task"] == NAME and metrics["epochs_trained"] == 3
    assert metrics["n_train"] == 48 and metrics["n_val"] == 24
    assert 0.0 <= metrics["metrics"]["val_accuracy"] <= 1.0
    assert metrics["test"]["n"] == 24 and "test_accuracy" in metrics["test"]["metrics"]

    evaluation = evaluate(str(folder))
    assert evaluation.split == "test" and evaluation.count == 24
    assert evaluation.metrics["test_accuracy"] == pytest.approx(
        metrics["test"]["metrics"]["test_accuracy"]
    )

    predictions = predict(folder / "model.keras", data, tmp_path / "predictions")
    rows = pd.read_csv(predictions / "predictions.csv")
    assert len(rows) == 48 + 24 + 24 and set(rows["predicted"]) <= {0, 1}


def test_a_model_of_one_task_is_refused_on_another_tasks_data(
    tiny_superres_dir: Path, tmp_path: Path
) -> None:
    """The registry finds the model's task; the data of a task that claims the folder is
    refused in one line naming both."""
    from lens_search.errors import LensSearchError
    from lens_search.experiments.tasks import task_of_model
    from lens_search.results.predict import check_task
    from tests.harness.toy_task import MODEL_NAME, build_toy

    model = build_toy({"lr": 0.01, "units": 2})
    assert model.name == MODEL_NAME
    task = task_of_model(model, "toy.keras")
    with pytest.raises(LensSearchError, match="is a toy brightness model, but .* holds LR/"):
        check_task(task, tiny_superres_dir, "toy.keras")


def _branches_on_a_task(tree: ast.AST) -> list[str]:
    """Comparisons with a task's name, and reads of per-task flags, in ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            names = {
                o.value for o in operands if isinstance(o, ast.Constant) and o.value in TASK_WORDS
            }
            tuples = [
                e.value
                for o in operands
                if isinstance(o, ast.Tuple | ast.Set | ast.List)
                for e in o.elts
                if isinstance(e, ast.Constant) and e.value in TASK_WORDS
            ]
            if names or tuples:
                found.append(f"line {node.lineno}: compares with {sorted({*names, *tuples})}")
        elif isinstance(node, ast.match_case) and isinstance(node.pattern, ast.MatchValue):
            value = node.pattern.value
            if isinstance(value, ast.Constant) and value.value in TASK_WORDS:
                found.append(f"line {node.pattern.lineno}: matches {value.value!r}")
        elif isinstance(node, ast.Attribute) and node.attr in TASK_FLAGS:
            found.append(f"line {node.lineno}: reads .{node.attr}")
    return found


def test_no_module_outside_a_tasks_own_file_branches_on_a_task_name() -> None:
    found = {}
    for package in LIBRARY:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            if relative in TASK_FILES:
                continue
            branches = _branches_on_a_task(ast.parse(path.read_text(encoding="utf-8")))
            if branches:
                found[relative] = branches
    assert found == {}


def test_the_branch_finder_finds_branches() -> None:
    """The grep above would see each kind of branch it names."""
    source = (
        'if task == "classify": pass\n'
        'x = 1 if settings.task != "superres" else 2\n'
        'if name in ("classify", "other"): pass\n'
        "if task.has_backbone: pass\n"
        'match task:\n    case "superres": pass\n'
    )
    assert len(_branches_on_a_task(ast.parse(source))) == 5
    assert _branches_on_a_task(ast.parse('TABLE = {"classify": 1}\nname = "superres"\n')) == []
