"""Settings refused before anything is created: names, seeds, memory, --resume flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from lens_search.errors import LensSearchError
from lens_search.experiments.tasks import CLASSIFY, SUPERRES
from lens_search.search.cli import parse_config
from lens_search.search.config import MAX_SEED, SearchConfig, check_name, resume_conflicts
from lens_search.search.memory import (
    GIB,
    batch_bytes,
    check_batch_fits,
    check_search_fits,
    largest_value,
)


@pytest.mark.parametrize("name", ["superres-20261201-190000", "a", "run_1.b-2", "x" * 100])
def test_plain_names_are_accepted(name: str) -> None:
    check_name(name)


@pytest.mark.parametrize(
    "name", ["../x", "..", "a/b", "a\\b", ".hidden", "-flag", "a b", "s3://b/x", "r?1", "x" * 101]
)
def test_names_a_storage_cannot_hold_are_refused(name: str) -> None:
    with pytest.raises(LensSearchError, match="not a plain experiment name"):
        check_name(name)


def test_seed_range_is_what_numpy_and_optuna_accept() -> None:
    import keras
    import optuna

    for seed in (0, MAX_SEED):
        parse_config(SUPERRES, ["--seed", str(seed)])
        optuna.samplers.TPESampler(seed=seed)._rng.rng.rand()
        keras.utils.set_random_seed(seed)
    for seed in (-1, MAX_SEED + 1):
        with pytest.raises(LensSearchError, match="--seed must be between 0 and 2\\*\\*32-1"):
            parse_config(SUPERRES, ["--seed", str(seed)])
        with pytest.raises(ValueError):
            keras.utils.set_random_seed(seed)


def test_resume_compares_only_the_flags_given(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    saved = SearchConfig(samples=4, max_epochs=2, data=str(tmp_path / "data"), seed=5).to_dict()
    same = ["--samples", "4", "--max-epochs", "2", "--data", "data", "--name", "s", "--resume"]
    assert resume_conflicts(parse_config(SUPERRES, same), saved) == []
    assert resume_conflicts(parse_config(SUPERRES, ["--name", "s", "--resume"]), saved) == []
    moved = ["--name", "s", "--resume", "--address", "10.0.0.1:6379", "--storage", "/elsewhere"]
    assert resume_conflicts(parse_config(SUPERRES, moved), saved) == []
    default_given = parse_config(SUPERRES, [*same, "--seed", "0", "--max-failures", "5"])
    assert resume_conflicts(default_given, saved) == [
        "--max-failures 5 (saved: 2)",
        "--seed 0 (saved: 5)",
    ]
    # without the CLI (run_search called directly): the settings that differ from the defaults
    assert resume_conflicts(SearchConfig(name="s", resume=True, seed=9), saved) == [
        "--seed 9 (saved: 5)"
    ]


def test_a_huge_image_for_the_cnn_backbone_is_refused() -> None:
    with pytest.raises(LensSearchError, match="one batch of 64 images for cnn"):
        check_search_fits(CLASSIFY, SearchConfig(backbone="cnn", image_size=8192))
    check_search_fits(CLASSIFY, SearchConfig(backbone="cnn", image_size=64))


def test_sane_batches_fit_and_huge_images_are_refused_with_the_estimate() -> None:
    check_batch_fits("inception_resnet_v2", 128, 64, memory=24 * GIB)
    check_batch_fits("inception_resnet_v2", 299, 32, memory=24 * GIB)
    assert batch_bytes("inception_resnet_v2", 128, 64) < 5 * GIB
    with pytest.raises(LensSearchError) as info:
        check_batch_fits("inception_resnet_v2", 4096, 64, memory=24 * GIB)
    line = str(info.value)
    assert "--image-size 4096 cannot train here: one batch of 64 images" in line
    assert "needs at least 3,640.8 GiB" in line and "24.0 GiB of memory" in line


def test_the_largest_batch_of_the_space_is_checked(tmp_path: Path) -> None:
    assert largest_value(CLASSIFY.space["batch_size"]) == 64
    with pytest.raises(LensSearchError, match="one batch of 64 images"):
        check_search_fits(CLASSIFY, SearchConfig(image_size=1024))
    space = tmp_path / "space.json"
    space.write_text('{"batch_size": 1}')
    check_search_fits(CLASSIFY, SearchConfig(image_size=1024, space=str(space)))  # 4.7 GiB
    check_search_fits(CLASSIFY, SearchConfig(image_size=1024, address="10.0.0.1:6379"))
    check_search_fits(SUPERRES, SearchConfig())


def test_a_search_writes_files_nobody_else_can_write(tmp_path: Path) -> None:
    """Under umask 002 an experiment would be group-writable, and then refused when read back."""
    import os

    from lens_search.experiments.storage import refuse_shared_writable, write_private

    previous = os.umask(0o002)
    try:
        write_private()
        (tmp_path / "exp").mkdir()
        (tmp_path / "exp" / "tuner.pkl").write_bytes(b"")
    finally:
        os.umask(previous)
    assert (tmp_path / "exp" / "tuner.pkl").stat().st_mode & 0o777 == 0o644
    refuse_shared_writable(str(tmp_path / "exp"))
    (tmp_path / "exp").chmod(0o775)
    with pytest.raises(LensSearchError, match="exp is writable by the group"):
        refuse_shared_writable(str(tmp_path / "exp"))


def test_image_size_limits_are_the_models_own(capsys: pytest.CaptureFixture[str]) -> None:
    """The search refuses exactly the image sizes the backbones cannot be built for."""
    from lens_search.training.backbones import BACKBONES, image_size_limits, min_image_size
    from lens_search.training.models import build_classifier

    for backbone in BACKBONES:
        smallest = min_image_size(backbone)
        SearchConfig(backbone=backbone, image_size=smallest).validate(CLASSIFY)
        with pytest.raises(LensSearchError, match=f"at least {smallest} for {backbone}"):
            SearchConfig(backbone=backbone, image_size=smallest - 1).validate(CLASSIFY)
        with pytest.raises(LensSearchError, match=f"minimum {smallest}"):
            build_classifier({}, image_size=smallest - 1, backbone=backbone)
    with pytest.raises(SystemExit):
        parse_config(CLASSIFY, ["--help"])
    assert image_size_limits() in " ".join(capsys.readouterr().out.split())


def test_the_search_settings_are_checked_without_keras() -> None:
    """Bad flags are refused before Keras or TensorFlow is imported (they take seconds)."""
    import subprocess
    import sys

    code = (
        "import sys; from search.cli import parse_config; from experiments.tasks import CLASSIFY; "
        "from search.memory import check_search_fits; from search.config import SearchConfig; "
        "check_search_fits(CLASSIFY, parse_config(CLASSIFY, ['--backbone', 'cnn'])); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
