"""The simulator end to end: CLI, layout, determinism, reuse, refusal and the physics it draws."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lens_search.data.output import staging_folder
from lens_search.data.physics import render_surface_brightness
from lens_search.data.presets import BACKGROUND_RMS, FIELD_OF_VIEW, draw_lens_params
from lens_search.data.samples import classification_image
from lens_search.data.simulate import simulate_classification, simulate_superres
from lens_search.data.substructure import (
    N_VORTEX_MASSES,
    PointMasses,
    draw_subhalo_masses,
    draw_subhalos,
    draw_vortex,
    point_mass_theta_e,
)
from lens_search.errors import LensSearchError

REPO = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.npy")):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("preset", ["model1", "varied"])
def test_classify_cli_writes_the_public_layout(tmp_path: Path, preset: str) -> None:
    out = tmp_path / "data"
    args = ["--out", str(out), "--preset", preset, "--per-class", "5", "--size", "40"]
    result = run_module("lensing.simulate", "classify", *args, "--val-fraction", "0.4")
    assert result.returncode == 0, result.stderr
    assert "classify vort:" in result.stderr, "the progress bar names the class it simulates"
    for split, count in (("train", 3), ("val", 2)):
        for cls in ("no", "sphere", "vort"):
            files = sorted((out / split / cls).glob("*.npy"))
            assert len(files) == count
            image = np.load(files[0], allow_pickle=False)
            assert image.shape == (1, 40, 40) and image.dtype == np.float32
            assert image.min() == 0.0 and image.max() == 1.0
    manifest = json.loads((out / "manifest.json").read_text())
    counts = {"train": 3, "val": 2, "test": 2}  # test: a quarter of 7, beyond the 5 per class
    assert manifest["request"]["preset"] == preset and manifest["counts"] == counts
    assert "lenstronomy" in manifest["versions"]
    rows = list(csv.DictReader(open(out / "parameters.csv")))
    assert len(rows) == 21 and {"theta_E", "source_R_sersic", "n_subhalos", "m_axion"} <= set(
        rows[0]
    )
    assert {r["n_point_masses"] for r in rows if r["class"] == "vort"} == {"100"}
    assert not list(tmp_path.glob(".*partial*")), "the staging folder was left behind"
    inspected = run_module("lensing.inspect", str(out))
    assert inspected.returncode == 0 and "no 3, sphere 3, vort 3" in inspected.stdout


def test_varied_preset_draws_lens_and_source_per_image(tmp_path: Path) -> None:
    out = simulate_classification(tmp_path / "v", "varied", per_class=4, size=32, progress=False)
    rows = list(csv.DictReader(open(out / "parameters.csv")))
    for column in (
        "theta_E",
        "lens_e1",
        "gamma1",
        "source_R_sersic",
        "source_n_sersic",
        "source_amp",
    ):
        assert len({r[column] for r in rows}) == len(rows), column


def test_superres_cli_writes_matched_pairs(tmp_path: Path) -> None:
    out = tmp_path / "sr"
    result = run_module("lensing.simulate", "superres", "--out", str(out), "--pairs", "2")
    assert result.returncode == 0, result.stderr
    for i in range(2):
        lr = np.load(out / "LR" / f"sample{i}.npy", allow_pickle=False)
        hr = np.load(out / "HR" / f"sample{i}.npy", allow_pickle=False)
        assert lr.shape == (1, 75, 75) and hr.shape == (1, 150, 150)
        assert lr.dtype == hr.dtype == np.float32
        assert hr.min() == 0.0 and hr.max() == 1.0 and 0.0 <= lr.min() and lr.max() <= 1.0
        # Same lens on the same field: the 2x2-binned HR follows the LR closely.
        binned = hr[0].reshape(75, 2, 75, 2).mean(axis=(1, 3))
        assert np.corrcoef(binned.ravel(), lr[0].ravel())[0, 1] > 0.8


def test_superres_noise_off_is_clean_and_noise_on_is_not(tmp_path: Path) -> None:
    clean = simulate_superres(tmp_path / "off", pairs=2, noise=False, progress=False)
    noisy = simulate_superres(tmp_path / "on", pairs=2, noise=True, progress=False)
    lr_clean = np.load(clean / "LR" / "sample0.npy")
    lr_noisy = np.load(noisy / "LR" / "sample0.npy")
    np.testing.assert_array_equal(
        np.load(clean / "HR/sample0.npy"), np.load(noisy / "HR/sample0.npy")
    )

    def roughness(image: np.ndarray) -> float:  # typical second difference: noise, not the lens
        return float(np.median(np.abs(np.diff(image[0], 2, axis=1))))

    assert roughness(lr_clean) < 0.01 < 0.03 < roughness(lr_noisy)


def test_same_seed_same_bytes_across_worker_counts(tmp_path: Path) -> None:
    common = {"preset": "varied", "per_class": 3, "size": 32, "progress": False}
    one = simulate_classification(tmp_path / "w1", seed=7, workers=1, **common)
    two = simulate_classification(tmp_path / "w2", seed=7, workers=2, **common)
    other = simulate_classification(tmp_path / "s8", seed=8, workers=2, **common)
    assert fingerprint(one) == fingerprint(two) != fingerprint(other)
    assert (one / "parameters.csv").read_bytes() == (two / "parameters.csv").read_bytes()
    sr_one = simulate_superres(tmp_path / "sr1", pairs=2, seed=3, workers=1, progress=False)
    sr_two = simulate_superres(tmp_path / "sr2", pairs=2, seed=3, workers=2, progress=False)
    assert fingerprint(sr_one) == fingerprint(sr_two)


def test_matching_manifest_is_reused_and_other_data_refused(tmp_path: Path) -> None:
    out = tmp_path / "data"
    args = ["lensing.simulate", "classify", "--out", str(out), "--per-class", "2", "--size", "24"]
    assert run_module(*args).returncode == 0
    stamp = (out / "train/no/no_000000.npy").stat().st_mtime_ns
    again = run_module(*args)
    assert again.returncode == 0 and "reusing" in again.stderr
    assert (out / "train/no/no_000000.npy").stat().st_mtime_ns == stamp
    refused = run_module(*args[:-1], "32")
    assert refused.returncode == 2 and "refusing to overwrite" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(LensSearchError, match="refusing to overwrite"):
        simulate_superres(tmp_path / "other", pairs=1, progress=False)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_bad_flags_are_one_line_errors(tmp_path: Path) -> None:
    result = run_module("lensing.simulate", "classify", "--out", str(tmp_path / "x"), "--size", "4")
    assert result.returncode == 2 and "--size must be at least 8" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "x").exists()


def test_interrupted_build_leaves_no_partial_folder(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), staging_folder(tmp_path / "data") as staging:
        (staging / "half.npy").write_bytes(b"x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_size_keeps_the_field_of_view() -> None:
    small, _ = classification_image(0, "no", 0, "model1", 32)
    large, _ = classification_image(0, "no", 0, "model1", 64)
    binned = large[0].reshape(32, 2, 32, 2).mean(axis=(1, 3))
    assert np.corrcoef(binned.ravel(), small[0].ravel())[0, 1] > 0.7


def test_substructure_is_visible_above_the_noise() -> None:
    rng = np.random.default_rng(0)
    params = draw_lens_params(rng, "model1")
    pixel = FIELD_OF_VIEW / 150

    def counts(masses: PointMasses) -> np.ndarray:
        return render_surface_brightness(params, masses, 150, pixel) * pixel**2

    smooth = counts(PointMasses())
    for masses in (draw_subhalos(rng), draw_vortex(rng)):
        change = np.abs(counts(masses) - smooth)
        assert change.max() > 3 * BACKGROUND_RMS
        assert (change > BACKGROUND_RMS).sum() > 10


def test_subhalo_masses_follow_the_power_law() -> None:
    masses = draw_subhalo_masses(np.random.default_rng(1), 40_000)
    assert 1e6 <= masses.min() and masses.max() <= 1e10
    expected_median = ((1e6**0.1 + 1e10**0.1) / 2) ** 10  # CDF of m**-0.9 at one half
    assert abs(np.median(masses) / expected_median - 1) < 0.05


def test_vortex_is_a_line_of_equal_masses_through_the_centre() -> None:
    vortex = draw_vortex(np.random.default_rng(2))
    assert len(vortex) == N_VORTEX_MASSES and np.ptp(vortex.theta_E) == 0
    total_theta_e2 = (vortex.theta_E**2).sum()
    assert total_theta_e2 == pytest.approx(point_mass_theta_e(3e10) ** 2)
    assert abs(vortex.x.mean()) < 1e-9 and abs(vortex.y.mean()) < 1e-9
    half_length = np.hypot(vortex.x, vortex.y).max()
    assert half_length == pytest.approx(vortex.info["vortex_half_length"])
    assert 0.03 <= half_length <= 3.0
    collinear = vortex.x * vortex.y[0] - vortex.y * vortex.x[0]
    assert np.abs(collinear).max() < 1e-9
