"""Matching runs: the machine facts read from a run, what makes runs or cases incomparable,
case order, and column labels (GPU name, else commit, else file name)."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnbench.compare.match import (
    Machine,
    case_ids,
    case_mismatch,
    device_mismatch,
    environment_mismatches,
    index,
    machine,
    run_labels,
)
from attnbench.results.schema import RunResult
from tests.compare.helpers import case, run, samples

PATHS = [Path("a/base.json"), Path("b/head.json")]


def _gpu(name: str, sha: str | None = "0123456789abcdef", dirty: bool = False) -> RunResult:
    r = run([case("v", 64, samples(1.0))], device=name, kind="cuda", driver="550.54", sha=sha)
    if sha:
        r.git["dirty"] = dirty
    return r


def test_machine_of_a_cpu_and_a_gpu_run() -> None:
    assert machine(run([])) == Machine("cpu", "Test CPU 9000", None, "2.13.0+cpu")
    assert machine(_gpu("NVIDIA H100")) == Machine("cuda", "NVIDIA H100", "550.54", "2.13.0+cpu")


def test_machine_model_falls_back_to_the_environment() -> None:
    gpu = _gpu("")
    gpu.environment["gpus"] = [{"name": "NVIDIA H200"}]
    assert machine(gpu).model == "NVIDIA H200"
    cpu = run([], device="")
    cpu.environment["cpu"] = {"model": "Some CPU"}
    assert machine(cpu).model == "Some CPU"  # environment.cpu.model
    bare = RunResult(suite={}, environment={}, settings={})
    assert machine(bare) == Machine("", "", None, None)


def test_the_driver_is_found_anywhere_in_settings_or_environment() -> None:
    gpu = _gpu("NVIDIA H100")
    del gpu.environment["nvml"]
    gpu.settings["power"] = {"nvml": {"driver": "560.1"}}
    assert machine(gpu).driver == "560.1"


def test_device_and_environment_mismatches_are_worded() -> None:
    cpu, h100, h200 = machine(run([])), machine(_gpu("NVIDIA H100")), machine(_gpu("NVIDIA H200"))
    assert device_mismatch(h100, h100) is None
    assert device_mismatch(cpu, h100) == "device kind differs: cpu vs cuda"
    assert device_mismatch(h100, h200) == "device model differs: NVIDIA H100 vs NVIDIA H200"
    assert device_mismatch(Machine("cuda", "", None, None), h100) == (
        "device model differs: ? vs NVIDIA H100"
    )
    newer = Machine("cuda", "NVIDIA H100", "560.1", "2.14.0")
    assert environment_mismatches(h100, h100) == []
    assert environment_mismatches(h100, newer) == [
        "driver differs: 550.54 vs 560.1",
        "torch differs: 2.13.0+cpu vs 2.14.0",
    ]


def test_case_mismatch_names_fingerprint_then_dtype() -> None:
    a = case("v", 64, samples(1.0))
    assert case_mismatch(a, a) is None
    other = case("v", 64, samples(1.0), fingerprint="b" * 16)
    assert case_mismatch(a, other) == (
        f"fingerprint differs ({'a' * 16} vs {'b' * 16}): the variant's code or the case changed"
    )
    half = case("v", 64, samples(1.0))
    half.params["dtype"] = "fp16"
    assert case_mismatch(a, half) == "dtype differs: fp32 vs fp16"


def test_case_ids_keep_the_first_runs_order_then_new_ones() -> None:
    first = run([case("v", 128, samples(1.0)), case("v", 64, samples(1.0))])
    second = run([case("w", 64, samples(1.0)), case("v", 64, samples(1.0))])
    ids = case_ids([first, second])
    assert ids == [first.cases[0].case_id, first.cases[1].case_id, second.cases[0].case_id]
    dup = run([case("v", 64, samples(1.0)), case("v", 64, samples(2.0))])
    assert index(dup)[dup.cases[0].case_id] is dup.cases[1]  # the last one wins


def test_labels_prefer_gpu_names() -> None:
    runs = [_gpu("NVIDIA H100"), _gpu("NVIDIA H200")]
    assert run_labels(runs, PATHS) == ["NVIDIA H100", "NVIDIA H200"]


def test_labels_fall_back_to_the_commit_and_mark_a_dirty_tree() -> None:
    runs = [_gpu("NVIDIA H100", "1111111111abc"), _gpu("NVIDIA H100", "2222222222abc", True)]
    assert run_labels(runs, PATHS) == ["1111111111", "2222222222+dirty"]


def test_labels_fall_back_to_file_names_then_positions() -> None:
    same = [_gpu("NVIDIA H100"), _gpu("NVIDIA H100")]
    assert run_labels(same, PATHS) == ["base.json", "head.json"]
    apart = [Path("x/r.json"), Path("y/r.json")]
    assert run_labels(same, apart) == ["x/r.json", "y/r.json"]  # the paths tell them apart
    clash = [Path("x/r.json"), Path("x/r.json")]
    assert run_labels(same, clash) == ["1:r.json", "2:r.json"]
    cpu = [run([], sha=None), run([], sha=None)]
    assert run_labels(cpu, PATHS) == ["base.json", "head.json"]


def test_label_overrides_replace_the_first_labels_in_order() -> None:
    runs = [_gpu("NVIDIA H100"), _gpu("NVIDIA H200")]
    assert run_labels(runs, PATHS, ["old"]) == ["old", "NVIDIA H200"]
    assert run_labels(runs, PATHS, ["a", "b", "c"]) == ["a", "b"]


def test_the_driver_search_skips_empty_values_and_prefers_driver_version() -> None:
    gpu = _gpu("NVIDIA H100")
    gpu.environment["nvml"] = {"driver": "1.0", "driver_version": "2.0"}
    assert machine(gpu).driver == "2.0"  # driver_version is looked up first
    gpu.settings["power"] = {"driver": "560.1"}
    gpu.environment["nvml"] = {"driver_version": ""}  # empty: not a driver
    assert machine(gpu).driver == "560.1"
    gpu.environment["nvml"] = {"driver_version": 550}  # not a string: not a driver
    assert machine(gpu).driver == "560.1"


def test_the_driver_is_found_five_levels_down_but_not_six() -> None:
    gpu = _gpu("NVIDIA H100")
    del gpu.environment["nvml"]
    # settings is level 1 of the search; levels 2..5 below it
    gpu.settings["a"] = {"b": {"c": {"d": {"driver": "deep"}}}}
    assert machine(gpu).driver == "deep"
    gpu.settings["a"] = {"b": {"c": {"d": {"e": {"driver": "too deep"}}}}}
    assert machine(gpu).driver is None


def test_a_cpu_run_has_no_driver_and_a_missing_torch_is_none() -> None:
    cpu = run([], driver="550.54")  # an NVML driver recorded, but the run was on the CPU
    cpu.environment["torch"] = ""
    assert machine(cpu) == Machine("cpu", "Test CPU 9000", None, None)
    gpu = _gpu("")
    gpu.environment["gpus"] = []
    gpu.environment["cpu"] = {"model": "Host CPU"}
    assert machine(gpu).model == "Host CPU"  # no GPU list: the host's model, not a guess


def test_device_kind_is_named_before_the_model_and_blanks_are_question_marks() -> None:
    a, b = Machine("", "x", None, None), Machine("cuda", "y", None, None)
    assert device_mismatch(a, b) == "device kind differs: ? vs cuda"
    assert device_mismatch(b, a) == "device kind differs: cuda vs ?"
    assert device_mismatch(b, Machine("cuda", "", None, None)) == "device model differs: y vs ?"
    only_torch = Machine("cuda", "y", None, "2.14.0")
    assert environment_mismatches(b, only_torch) == ["torch differs: None vs 2.14.0"]
    old_driver = Machine("cuda", "y", "1", None)
    assert environment_mismatches(old_driver, b) == ["driver differs: 1 vs None"]


def test_a_blank_fingerprint_is_a_question_mark() -> None:
    a = case("v", 64, samples(1.0), fingerprint="")
    b = case("v", 64, samples(1.0))
    assert case_mismatch(a, b) == (
        f"fingerprint differs (? vs {'a' * 16}): the variant's code or the case changed"
    )
    assert case_mismatch(b, a) == (
        f"fingerprint differs ({'a' * 16} vs ?): the variant's code or the case changed"
    )


def test_labels_use_gpu_names_only_for_gpu_runs() -> None:
    cpu = [run([], device="CPU A", sha="1111111111x"), run([], device="CPU B", sha="2222222222y")]
    assert run_labels(cpu, PATHS) == ["1111111111", "2222222222"]  # device names are for GPUs
    mixed = [_gpu("NVIDIA H100"), run([], device="CPU B", sha=None)]
    assert run_labels(mixed, PATHS) == ["base.json", "head.json"]  # no kind tells both apart


def test_labels_fall_back_when_only_some_runs_have_the_label() -> None:
    runs = [_gpu("NVIDIA H100", "1111111111abc"), _gpu("", "2222222222abc")]
    assert run_labels(runs, PATHS) == ["1111111111", "2222222222"]
    three = [_gpu("NVIDIA H100", None), _gpu("NVIDIA H200", None), _gpu("NVIDIA H100", None)]
    paths = [Path("a.json"), Path("b.json"), Path("c.json")]
    assert run_labels(three, paths) == ["a.json", "b.json", "c.json"]


def test_labels_need_a_path_per_run() -> None:
    with pytest.raises(ValueError, match="zip"):
        run_labels([_gpu("NVIDIA H100")], PATHS)


def test_the_settings_device_name_comes_before_the_environment() -> None:
    gpu = _gpu("NVIDIA H100")
    gpu.environment["gpus"] = [{"name": "NVIDIA A100"}]
    gpu.environment["cpu"] = {"model": "Host CPU"}
    assert machine(gpu).model == "NVIDIA H100"
    gpu.settings["device"]["name"] = ""
    assert machine(gpu).model == "NVIDIA A100"
    gpu.environment["gpus"] = [{"memory": 1}]  # a GPU entry without a name
    assert machine(gpu).model == ""
