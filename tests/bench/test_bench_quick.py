"""Every benchmark runs end to end at its --quick size and writes a sensible CSV (none can rot)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900  # a few times the quick runs' worst case on a shared 2-core machine


def run_quick(
    name: str, tmp_path: Path, *flags: str, **env: str
) -> tuple[str, list[dict[str, str]]]:
    """``python -m bench.NAME --quick --out tmp/NAME.csv [flags]``: its stdout and CSV rows."""
    out = tmp_path / f"{name}.csv"
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", "--quick", "--out", str(out), *flags],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out) as handle:
        return result.stdout, list(csv.DictReader(handle))


def test_search_efficiency_counts_every_epoch_of_every_method(tmp_path: Path) -> None:
    # Ray gets 2 CPUs whatever the machine has: the overshoot below depends on it.
    stdout, rows = run_quick("search_efficiency", tmp_path, "--cpus", "2")
    seed0 = {r["method"]: r for r in rows if r["seed"] == "0"}
    assert set(seed0) == {"default", "default-complete", "hyperband", "random", "random-asha"}
    assert int(seed0["random"]["epochs"]) == 2 * 2  # 2 samples, all trained to max_epochs 2
    # ASHA methods sample until the budget of 4 epochs is spent
    for method in ("default", "default-complete", "random-asha"):
        # (overshoot: at most one more epoch per concurrent trial, 2 CPUs)
        assert 4 <= int(seed0[method]["epochs"]) <= 6, seed0[method]
        assert int(seed0[method]["configs"]) >= 2
    assert all(float(r["best_psnr"]) > 20 for r in seed0.values())
    reached = [r for r in seed0.values() if r["epochs_to_mark"]]
    assert reached  # the best method reaches its own mark by definition
    assert "at equal epochs" in stdout


def test_overhead_reports_direct_and_ray_trials(tmp_path: Path) -> None:
    stdout, rows = run_quick("overhead", tmp_path)
    tasks = {r["task"] for r in rows}
    assert tasks == {"superres", "classify:cnn"}
    for task in tasks:
        runs = [r["run"] for r in rows if r["task"] == task]
        assert runs == ["direct", "ray trial 1", "ray trial 2", "fit/trial"]
    for row in rows:
        assert float(row["wall_s"]) >= float(row["train_s"]) > 0
        assert 0 <= float(row["overhead_frac"]) < 1
    assert "outside training" in stdout


def test_scale_runs_sleeping_trials_and_measures_workers(tmp_path: Path) -> None:
    stdout, rows = run_quick("scale", tmp_path)
    (row,) = rows
    assert (row["concurrent"], row["trials"], row["epochs"]) == ("8", "8", "24")
    assert 0 < float(row["utilisation"]) <= 1
    assert int(row["workers"]) >= 8 and float(row["worker_rss_mb"]) > 10
    assert "utilisation" in stdout


def test_gpu_throughput_runs_on_the_cpu(tmp_path: Path) -> None:
    stdout, rows = run_quick("gpu_throughput", tmp_path)
    assert [r["model"] for r in rows] == ["superres"]
    assert float(rows[0]["images_per_s"]) > 0
    assert "images_per_s" in stdout


def test_epoch_cost_reports_trainer_against_fit_and_both_paths(tmp_path: Path) -> None:
    stdout, rows = run_quick("epoch_cost", tmp_path)
    assert [row["setting"] for row in rows] == ["default"]
    for key in ("fit_ms", "fit_noaug_ms", "trainer_ms", "recal_s", "val_s", "epoch_s"):
        assert float(rows[0][key]) > 0, rows[0]
    low, ratio, high = (float(rows[0][k]) for k in ("ratio_min", "trainer/fit", "ratio_max"))
    assert 0 < low <= ratio <= high, rows[0]
    epochs = (tmp_path / "epoch_cost_epochs.csv").read_text().splitlines()
    assert epochs[0] == "path,epoch,train_images,size,epoch_s,val_auc"
    assert len(epochs) == 1 + 3 * 2  # three paths, two epochs each
    paths = {row[0] for row in csv.reader(epochs[1:])}
    assert paths == {
        "new: cnn defaults",
        "today: small_cnn, model.fit",
        "today: small_cnn, new trainer",
    }
    assert stdout.count("x cheaper (target >= 3x") == 2 and "; target <= 1.1x)" in stdout
    assert_every_op_class_traced(tmp_path / "epoch_cost_profile.csv")


def assert_every_op_class_traced(profile_csv: Path) -> None:
    """Each class of op (convolutions, batch norm, augmentation, Adam, the rest) took some of the
    traced time, and the shares add up: what the profile is for, on any CPU. How large each share
    is depends on the CPU and its kernels, so it is not checked."""
    with open(profile_csv) as handle:
        (profile,) = list(csv.DictReader(handle))
    shares = [float(profile[f"{name}_%"]) for name in ("conv", "bn", "aug", "adam", "other")]
    assert abs(sum(shares) - 100) < 0.1 and min(shares) > 0, profile  # every class was traced
    assert float(profile["to_tensor_ms"]) > 0 and float(profile["shuffle_ms"]) > 0


@pytest.mark.parametrize("onednn", ["0", "1"])
def test_epoch_cost_profile_finds_every_op_class_with_eigen_and_onednn_kernels(
    tmp_path: Path, onednn: str
) -> None:
    """TensorFlow runs convolutions as ``Conv2D`` (Eigen) or ``_MklNativeConv2D`` (oneDNN, the
    default on CPUs with AVX512_VNNI, AVX512_BF16 or AMX); both kinds are forced here, so every
    x86 machine checks both sets of kernel names."""
    run_quick("epoch_cost", tmp_path, "--skip", "epochs", TF_ENABLE_ONEDNN_OPTS=onednn)
    assert_every_op_class_traced(tmp_path / "epoch_cost_profile.csv")


def test_epoch_cost_classifies_ops_by_type_not_by_kernel() -> None:
    from bench.epoch_cost import op_class

    kernels = {  # Eigen's kernel, oneDNN's (TF_ENABLE_ONEDNN_OPTS=1) and grappler's fusions
        "conv": ("Conv2D", "_MklNativeConv2D", "_MklConv2D", "Conv2DBackpropFilter",
                 "_MklNativeConv2DBackpropFilter", "Conv2DBackpropInput",
                 "_MklNativeConv2DBackpropInput", "_FusedConv2D", "_MklNativeFusedConv2D",
                 "_MklNativePadWithConv2D", "DepthwiseConv2dNative",
                 "_MklDepthwiseConv2dNative"),
        "other": ("MaxPool", "_MklNativeMaxPool", "_MklNativeMaxPoolGrad", "Relu", "_MklMatMul",
                  "_MklNativeFusedMatMul", "Mul"),
    }  # fmt: skip
    for expected, types in kernels.items():
        for op_type in types:
            assert op_class("sequential/stage1_block0/conv", op_type) == expected, op_type
    bn = "sequential/stage1_block0_bn/FusedBatchNormV3"
    assert op_class(bn, "_MklFusedBatchNormV3") == op_class(bn, "FusedBatchNormV3") == "bn"
    assert op_class("adam/Mul_3", "_MklNativeMul") == "adam"


def test_epoch_cost_refuses_a_new_config_the_model_cannot_build(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.epoch_cost", "--quick", "--new-config", '{"cnn_blocks": 9}',
         "--out", str(tmp_path / "e.csv")],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("python -m bench.epoch_cost: error: argument --new-config: cnn_blocks")
    assert not (tmp_path / "e.csv").exists()
