"""A corpus of bad input given to the real CLIs: one clear line, exit 2, nothing written or changed.

Each case builds its bad data set or flag and runs ``python -m search.superres``,
``python -m search.classify``, ``python -m lensing.inspect`` or a ``results.*`` command on an
earlier experiment the way a user would: in this
process through the same ``main`` (fast), or, for a few cases, in a fresh interpreter (the import
path with TensorFlow and Ray included). Every case is checked the same way: exit status 2,
exactly one line on stderr that names the problem, no traceback, nothing on stdout, no new
experiment in the storage folder, an earlier experiment there byte-identical, the data untouched.

The loaders' own checks of the same files (and of PNG/RGB/unknown-class cases) are in
``tests/lensing/test_lensing_errors.py``; uint8 and float64 arrays are accepted and converted to
float32 in [0, 1] (``tests/lensing/test_lensing_load.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from lens_search.cli import run_cli
from lens_search.data.inspect import main as inspect_main
from lens_search.results.leaderboard import main as leaderboard_main
from lens_search.results.plots import main as plots_main
from lens_search.results.retrain import main as retrain_main
from lens_search.search.cli import main_for
from lens_search.search.config import SearchConfig

REPO = Path(__file__).resolve().parents[2]
CLASSES = ("no", "sphere", "vort")
EARLIER = "earlier"
# Should a case ever be accepted, its search stays short: one trial of one epoch.
TINY = ("--samples", "1", "--max-epochs", "1")


# --- data sets: a small good one of each kind, then one defect each -------------------------


def classify_set(root: Path, size: int = 8, per_class: int = 4) -> Path:
    for cls in CLASSES:
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            image = np.random.default_rng(i).random((1, size, size))
            np.save(root / cls / f"{cls}{i}.npy", image)
    return root


def superres_set(root: Path, lr: int = 8, hr: int = 16, pairs: int = 4) -> Path:
    for kind, size in (("LR", lr), ("HR", hr)):
        (root / kind).mkdir(parents=True)
        for i in range(pairs):
            image = np.random.default_rng(i).random((1, size, size)).astype(np.float32)
            np.save(root / kind / f"sample{i}.npy", image)
    return root


class PickleBomb:
    """Creates the folder ``marker`` if it is ever unpickled: the loaders must never do that."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Callable[..., object], tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def missing_folder(tmp: Path) -> Path:
    return tmp / "nowhere"


def empty_class(tmp: Path) -> Path:
    root = classify_set(tmp / "data")
    for file in (root / "vort").iterdir():
        file.unlink()
    return root


def single_class(tmp: Path) -> Path:
    root = classify_set(tmp / "data")
    for cls in ("sphere", "vort"):
        for file in (root / cls).iterdir():
            file.unlink()
        (root / cls).rmdir()
    return root


def mixed_sizes(tmp: Path) -> Path:
    root = superres_set(tmp / "data")
    np.save(root / "LR" / "sample1.npy", np.zeros((1, 9, 9), np.float32))
    return root


def mixed_class_sizes(tmp: Path) -> Path:
    """Refused by inspect; a classification search resizes every image to --image-size."""
    root = classify_set(tmp / "data")
    np.save(root / "sphere" / "sphere2.npy", np.zeros((1, 9, 9)))
    return root


def truncated_npy(tmp: Path) -> Path:
    root = superres_set(tmp / "data")
    path = root / "HR" / "sample1.npy"
    path.write_bytes(path.read_bytes()[:-40])
    return root


def pickled_npy(tmp: Path) -> Path:
    root = classify_set(tmp / "data")
    payload = np.array([PickleBomb(tmp / "unpickled"), 1], dtype=object)
    np.save(root / "no" / "no1.npy", payload, allow_pickle=True)
    return root


def object_dtype(tmp: Path) -> Path:
    root = classify_set(tmp / "data")
    numbers = np.zeros((1, 8, 8)).astype(object)
    np.save(root / "sphere" / "sphere0.npy", numbers, allow_pickle=True)
    return root


def text_dtype(tmp: Path) -> Path:
    root = classify_set(tmp / "data")
    np.save(root / "vort" / "vort3.npy", np.full((1, 8, 8), "x"))
    return root


def nan_image(tmp: Path) -> Path:
    root = superres_set(tmp / "data")
    image = np.zeros((1, 8, 8), np.float32)
    image[0, 2, 5] = np.nan
    np.save(root / "LR" / "sample2.npy", image)
    return root


def inf_image(tmp: Path) -> Path:
    root = classify_set(tmp / "data")
    image = np.zeros((1, 8, 8))
    image[0, 0, 0] = -np.inf
    np.save(root / "no" / "no3.npy", image)
    return root


def lr_hr_count(tmp: Path) -> Path:
    root = superres_set(tmp / "data")
    np.save(root / "LR" / "sample4.npy", np.zeros((1, 8, 8), np.float32))
    return root


def lr_hr_names(tmp: Path) -> Path:
    root = superres_set(tmp / "data")
    (root / "HR" / "sample3.npy").rename(root / "HR" / "pair3.npy")
    return root


def lr_hr_ratio(tmp: Path) -> Path:
    return superres_set(tmp / "data", lr=8, hr=24)


# --- the corpus ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: which CLI, how to build its arguments, what the one line must say."""

    name: str
    cli: str  # "superres", "classify", "inspect" or one of RESULTS
    args: Callable[[Path, Path, Path], list[str]]  # (tmp, storage, good data) -> argv
    expected: str
    fresh_interpreter: bool = False

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.prog]

    @property
    def prog(self) -> str:
        if self.cli == "inspect":
            return "lensing.inspect"
        return f"results.{self.cli}" if self.cli in RESULTS else f"search.{self.cli}"


RESULTS = {"leaderboard": leaderboard_main, "plots": plots_main, "retrain": retrain_main}


def search(cli: str, data: Callable[[Path], Path], *flags: str) -> Callable[..., list[str]]:
    """Arguments of a search on bad data (``data``), otherwise valid, with its own --name."""

    def build(tmp: Path, storage: Path, good: Path) -> list[str]:
        argv = ["--data", str(data(tmp)), *TINY, "--storage", str(storage), "--name", "new", *flags]
        if cli == "classify":
            argv += ["--backbone", "small_cnn", "--image-size", "16"]
        return argv

    return build


def flags(*extra: str, space: dict | None = None) -> Callable[..., list[str]]:
    """Arguments of a superres search on good data with bad ``extra`` flags or --space file."""

    def build(tmp: Path, storage: Path, good: Path) -> list[str]:
        argv = ["--data", str(good), *TINY, "--storage", str(storage), "--name", "new"]
        if space is not None:
            (tmp / "space.json").write_text(json.dumps(space))
            argv += ["--space", str(tmp / "space.json")]
        return argv + [e.replace("{tmp}", str(tmp)) for e in extra]

    return build


def storage_loop(tmp: Path, storage: Path, good: Path) -> list[str]:
    """``--storage`` a symbolic link to itself (a traceback ending in "Symlink loop" before)."""
    (tmp / "loop").symlink_to(tmp / "loop")
    return flags("--storage", "{tmp}/loop")(tmp, storage, good)


def inspect(data: Callable[[Path], Path]) -> Callable[..., list[str]]:
    return lambda tmp, storage, good: [str(data(tmp))]


def on_earlier(*extra: str, harm: Callable[[Path], None] | None = None) -> Callable[..., list[str]]:
    """Arguments of a results command on the earlier experiment, after ``harm`` was done to it."""

    def build(tmp: Path, storage: Path, good: Path) -> list[str]:
        if harm is not None:
            harm(storage / EARLIER)
        return [str(storage / EARLIER), *(e.replace("{tmp}", str(tmp)) for e in extra)]

    return build


def resume(*extra: str, harm: Callable[[Path], None] | None = None) -> Callable[..., list[str]]:
    """``--resume --name earlier`` with the flags the earlier search ran with, plus ``extra``."""
    plain = flags("--name", EARLIER, "--resume", *extra)

    def build(tmp: Path, storage: Path, good: Path) -> list[str]:
        if harm is not None:
            harm(storage / EARLIER)
        return plain(tmp, storage, good)

    return build


def world_writable(experiment: Path) -> None:
    experiment.chmod(0o777)


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user or group needs root (CI runs as root)")


def group_writable_file(experiment: Path) -> None:
    """``tuner.pkl`` writable by a group with other members than its owner (root's: daemon...)."""
    needs_root()
    os.chown(experiment / "tuner.pkl", os.getuid(), SHARED_GID)
    (experiment / "tuner.pkl").chmod(0o664)


def owned_by_another_user(experiment: Path) -> None:
    needs_root()
    os.chown(experiment / "_superres_fn_abc_1" / "params.pkl", NOBODY, NOBODY)


NOBODY = 65534
SHARED_GID = 1  # "daemon" on Debian/Ubuntu; pwd lists users whose primary group it is


CASES = [
    # data
    Case("missing-folder", "superres", search("superres", missing_folder), "no such folder"),
    Case("empty-class", "classify", search("classify", empty_class), "vort: empty class folder"),
    Case("single-class", "classify", search("classify", single_class), "missing class folder(s)"),
    Case("mixed-sizes", "superres", search("superres", mixed_sizes), "LR size 9x9 differs"),
    Case("truncated-npy", "superres", search("superres", truncated_npy), "unreadable .npy"),
    Case(
        "pickled-npy",
        "classify",
        search("classify", pickled_npy),
        "no1.npy: holds pickled Python objects",
        fresh_interpreter=True,
    ),
    Case(
        "object-dtype", "classify", search("classify", object_dtype), "sphere0.npy: holds pickled"
    ),
    Case("text-dtype", "classify", search("classify", text_dtype), "is not a numeric image"),
    Case("nan-image", "superres", search("superres", nan_image), "sample2.npy: contains NaN"),
    Case("inf-image", "classify", search("classify", inf_image), "no3.npy: contains infinite"),
    Case("lr-hr-count", "superres", search("superres", lr_hr_count), "no HR file of the same name"),
    Case("lr-hr-names", "superres", search("superres", lr_hr_names), "no HR file of the same name"),
    Case(
        "lr-hr-ratio",
        "superres",
        search("superres", lr_hr_ratio),
        "HR size 24x24 is not 2x the LR size 8x8",
        fresh_interpreter=True,
    ),
    Case(
        "inspect-truncated",
        "inspect",
        inspect(truncated_npy),
        "unreadable .npy",
        fresh_interpreter=True,
    ),
    Case("inspect-mixed-sizes", "inspect", inspect(mixed_class_sizes), "image size 9x9 differs"),
    # flags and files
    Case(
        "space-unknown-parameter",
        "superres",
        flags(space={"learning_rate_typo": {"low": 1e-4, "high": 1e-3}}),
        "unknown parameter 'learning_rate_typo'",
    ),
    Case(
        "space-inverted-range",
        "superres",
        flags(space={"lr": {"low": 1e-2, "high": 1e-4}}),
        "lr: inverted range",
    ),
    Case("zero-samples", "superres", flags("--samples", "0"), "--samples must be at least 1"),
    Case("negative-samples", "classify", flags("--samples", "-3"), "--samples must be at least 1"),
    Case(
        "gpus-above-any-node",
        "superres",
        flags("--gpus-per-trial", "1"),
        "--gpus-per-trial 1 cannot be scheduled: the cluster has no GPU",
        fresh_interpreter=True,
    ),
    Case(
        "unreachable-address",
        "superres",
        flags("--address", "127.0.0.1:1"),
        "cannot reach the Ray cluster at 127.0.0.1:1",
    ),
    Case(
        "storage-not-writable",
        "superres",
        flags("--storage", "{tmp}/a-file/runs"),
        "cannot be created",
    ),
    Case(
        "storage-symlink-loop",
        "superres",
        storage_loop,
        "storage {tmp}/loop cannot be used: a symbolic link loop",
        fresh_interpreter=True,
    ),
    Case("existing-name", "superres", flags("--name", EARLIER), "already exists"),
    # names, seeds, memory: refused before the experiment folder exists, so the name stays usable
    Case(
        "name-outside-storage",
        "superres",
        flags("--name", "../x"),
        "--name '../x' is not a plain experiment name",
    ),
    Case("name-with-separator", "classify", flags("--name", "a/b"), "not a plain experiment"),
    Case("name-uri-characters", "superres", flags("--name", "run?1#2"), "not a plain experiment"),
    Case("name-hidden", "superres", flags("--name", ".x"), "not a plain experiment name"),
    Case(
        "negative-seed", "superres", flags("--seed", "-1"), "--seed must be between 0 and 2**32-1"
    ),
    Case("seed-above-2**32-1", "classify", flags("--seed", str(2**32)), "got 4294967296"),
    Case(
        "image-size-beyond-memory",
        "classify",
        flags("--image-size", "4096"),
        "--image-size 4096 cannot train here: one batch of 64 images for inception_resnet_v2 "
        "needs at least",
    ),
    # --space values the model cannot train with (each parameter's hard bounds)
    Case("space-zero-lr", "superres", flags(space={"lr": 0}), "lr: value 0.0 is outside"),
    Case(
        "space-negative-lr-range",
        "classify",
        flags(space={"lr": {"low": -1e-3, "high": 1e-3, "log": False}}),
        "lr: low -0.001 is outside what the model accepts (lr must be in (0, 1])",
    ),
    Case("space-zero-batch", "superres", flags(space={"batch_size": 0}), "batch_size: value 0"),
    Case(
        "space-fractional-batch",
        "classify",
        flags(space={"batch_size": [16, 16.5]}),
        "batch_size: choice 16.5 is outside",
    ),
    Case("space-too-many-layers", "superres", flags(space={"num_layers": 5}), "integer in [1, 4]"),
    Case(
        "space-zero-layers",
        "superres",
        flags(space={"num_layers": {"low": 0, "high": 3}}),
        "num_layers: low 0",
    ),
    Case(
        "space-zero-filters", "superres", flags(space={"filters_2": [0, 16]}), "filters_2: choice 0"
    ),
    Case("space-kernel-size", "superres", flags(space={"kernel_size": 0}), "kernel_size: value 0"),
    Case("space-dropout-one", "classify", flags(space={"dropout": 1.0}), "must be in [0, 1)"),
    Case(
        "space-augmentation-factor",
        "classify",
        flags(space={"rotation": {"low": 0.0, "high": 1.5}}),
        "rotation: high 1.5 is outside",
    ),
    Case(
        "space-fine-tune-fraction",
        "classify",
        flags("--weights", "{tmp}/w.h5", space={"fine_tune_fraction": 0}),
        "fine_tune_fraction: value 0 is outside",
    ),
    # --resume with other settings than the saved ones
    Case(
        "resume-other-seed",
        "superres",
        resume("--seed", "7", "--max-epochs", "3"),
        "these flags differ: --max-epochs 3 (saved: 1), --seed 7 (saved: 0)",
    ),
    Case(
        "resume-other-data",
        "superres",
        resume("--data", "{tmp}/data"),
        "--data {tmp}/data (saved: ",
    ),
    # experiments other users can write: Ray would unpickle what they put there
    Case("resume-world-writable", "superres", resume(harm=world_writable), "writable by every"),
    Case(
        "resume-group-writable",
        "superres",
        resume(harm=group_writable_file),
        "tuner.pkl is writable by the group",
    ),
    Case(
        "leaderboard-world-writable",
        "leaderboard",
        on_earlier(harm=world_writable),
        "earlier is writable by every user (mode 777)",
    ),
    Case(
        "plots-owned-by-another-user",
        "plots",
        on_earlier(harm=owned_by_another_user),
        "params.pkl is owned by another user",
    ),
    # outputs over inputs
    Case(
        "plots-over-the-experiment",
        "plots",
        on_earlier("--out", "{tmp}/runs", "--force"),
        "holds the experiment",
    ),
    Case(
        "retrain-into-a-trial",
        "retrain",
        on_earlier("--out", "{tmp}/runs/earlier/_superres_fn_abc_1", "--force"),
        "is in the experiment",
    ),
    Case(
        "retrain-over-the-data",
        "retrain",
        on_earlier("--data", "{tmp}/good", "--out", "{tmp}/good", "--force"),
        "--out {tmp}/good is the data set {tmp}/good",
    ),
    Case(
        "leaderboard-csv-over-settings",
        "leaderboard",
        on_earlier("--csv", "{tmp}/runs/earlier/lens_search.json", "--force"),
        "--csv {tmp}/runs/earlier/lens_search.json is in the experiment",
    ),
]


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder``: bytes and modification time."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def earlier_experiment(storage: Path) -> None:
    """A finished experiment's files, as the search leaves them, run with ``TINY`` on ``good``.

    Its pickles are empty: every case must be refused before Ray reads them.
    """
    root = storage / EARLIER
    (root / "_superres_fn_abc_1").mkdir(parents=True)
    config = SearchConfig(
        samples=1, max_epochs=1, data=str(storage.parent / "good"), storage=str(storage)
    )
    settings = {"task": "superres", "metric": "val_psnr", "mode": "max", "max_epochs": 1}
    settings["config"] = {**config.to_dict(), "name": EARLIER}
    (root / "lens_search.json").write_text(json.dumps(settings))
    (root / "leaderboard.csv").write_text("rank,trial_id,status\n1,abc,completed\n")
    (root / "tuner.pkl").write_bytes(b"")
    (root / "_superres_fn_abc_1" / "params.pkl").write_bytes(b"")
    (root / "_superres_fn_abc_1" / "result.json").write_text('{"epoch": 1}\n{"epoch": 2}\n')


def run_case(
    case: Case, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of the case's CLI."""
    if case.fresh_interpreter:
        proc = subprocess.run(
            [*case.command(), *argv], cwd=REPO, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        return proc.returncode, proc.stdout, proc.stderr
    with pytest.raises(SystemExit) as exit_info:
        if case.cli == "inspect":
            run_cli(inspect_main, argv, prog=case.prog)
        elif case.cli in RESULTS:
            run_cli(RESULTS[case.cli], argv, prog=case.prog)
        else:
            main_for(case.cli, argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code), captured.out, captured.err


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_one_line_and_exit_2(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = tmp_path / "runs"
    earlier_experiment(storage)
    (tmp_path / "a-file").write_text("not a folder\n")
    good = superres_set(tmp_path / "good")
    argv = case.args(tmp_path, storage, good)
    before = snapshot(tmp_path)

    code, out, err = run_case(case, argv, capsys)

    lines = err.strip().splitlines()
    expected = case.expected.replace("{tmp}", str(tmp_path))
    assert code == 2, err[-3000:]
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith(f"{case.prog}: error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    assert sorted(p.name for p in storage.iterdir()) == [EARLIER]  # no new experiment
    assert snapshot(tmp_path) == before  # earlier results, the data, everything untouched
    assert not (tmp_path / "unpickled").exists()
