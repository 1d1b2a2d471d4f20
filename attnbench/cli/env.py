"""``attnbench env``: everything this machine can tell about itself, and why not the rest.

Software versions, the CPU, each CUDA device as torch sees it, NVML (driver, clocks, power
limit, persistence and MIG mode, energy counter) matched to torch's devices by UUID, the
energy meter that ``run`` would use, and each GPU's entry in the peak table (the table holds
GPUs only; on a CPU-only machine ``env`` says so). Exits 0 on a CPU-only machine: absence is
reported, not an error.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

import attnbench
from attnbench.cli._common import out_console
from attnbench.devices.peaks import lookup_peak
from attnbench.measure import rapl
from attnbench.measure.gpu_info import describe_gpus
from attnbench.measure.nvml import normalize_uuid
from attnbench.results.environment import collect_environment


def _peak_entry(name: str, memory_bytes: int | None) -> dict[str, Any]:
    found = lookup_peak(name, memory_bytes)
    if found.peak is None:
        return {"available": False, "reason": found.reason}
    return {"available": True, **found.peak.to_dict()}


def _attach_nvml(gpus: list[dict[str, Any]], nvml: dict[str, Any]) -> None:
    """Give each torch GPU dict its NVML facts (matched by UUID) and its peak entry."""
    by_uuid = {normalize_uuid(g.get("uuid")): g for g in nvml.get("gpus", [])}
    for gpu in gpus:
        gpu["nvml"] = by_uuid.get(normalize_uuid(gpu.get("uuid")))
        gpu["peak"] = _peak_entry(str(gpu.get("name", "")), gpu.get("total_memory_bytes"))


def collect() -> dict[str, Any]:
    """The whole ``env`` report, JSON-ready; never raises for missing hardware."""
    env = collect_environment()
    env["attnbench"] = attnbench.__version__
    nvml = describe_gpus()
    env["nvml"] = nvml
    _attach_nvml(env.get("gpus", []), nvml)
    zones, reason = rapl.find_zones()
    env["cpu_energy"] = {
        "method": rapl.METHOD_RAPL if zones else "unavailable",
        "reason": reason,
        "zones": [z.name for z in zones],
    }
    return env


def _fmt(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        value = f"{value:g}"
    return f"{value} {unit}".strip()


def _gib(n: Any) -> str:
    return f"{n / 2**30:.1f} GiB" if isinstance(n, int) else "—"


def _system_table(env: dict[str, Any]) -> Table:
    t = Table(title="attnbench env", show_header=False, title_justify="left")
    t.add_column("key", style="bold")
    t.add_column("value")
    cpu = env.get("cpu", {})
    nvml = env["nvml"]
    rows = [
        ("attnbench", env.get("attnbench")),
        ("python", env.get("python")),
        ("torch", env.get("torch")),
        ("CUDA (torch)", env.get("cuda") or "not built with CUDA"),
        ("cuDNN", env.get("cudnn")),
        ("CUDA available", env.get("torch_cuda_available")),
        ("OS", env.get("os")),
        ("CPU", cpu.get("model")),
        ("torch threads", f"{cpu.get('torch_threads')} of {cpu.get('logical_cpus')} logical"),
        ("NVML", "available" if nvml["available"] else f"unavailable: {nvml['reason']}"),
        ("driver", nvml.get("driver_version")),
        ("NVML version", nvml.get("nvml_version")),
        ("CUDA driver", nvml.get("cuda_driver_version")),
        ("CPU energy", env["cpu_energy"]["method"] + _reason(env["cpu_energy"]["reason"])),
    ]
    for key, value in rows:
        t.add_row(key, _fmt(value))
    if not env.get("gpus"):
        t.add_row("peak table", "GPUs only: a CPU has no peak-table entry (no % of peak)")
    return _plain(t)


def _plain(table: Table) -> Table:
    """The same table with every cell as plain text: driver strings and CPU model names are
    printed as written, never read as rich markup."""
    title = Text(table.title) if isinstance(table.title, str) else table.title
    out = Table(title=title, show_header=table.show_header, title_justify="left")
    for column in table.columns:
        out.add_column(column.header, style=column.style)
    cells = [list(column.cells) for column in table.columns]
    for row in zip(*cells, strict=True):
        out.add_row(*(c if isinstance(c, Text) else Text(str(c)) for c in row))
    return out


def _reason(reason: str) -> str:
    return f" ({reason})" if reason else ""


def _gpu_table(gpu: dict[str, Any]) -> Table:
    t = Table(title=f"cuda:{gpu['index']} {gpu['name']}", show_header=False, title_justify="left")
    t.add_column("key", style="bold")
    t.add_column("value")
    t.add_row("capability", _fmt(gpu.get("capability")))
    t.add_row("SMs", _fmt(gpu.get("sm_count")))
    t.add_row("L2", _fmt(gpu.get("l2_bytes"), "bytes"))
    t.add_row("memory", _gib(gpu.get("total_memory_bytes")))
    t.add_row("UUID", _fmt(gpu.get("uuid")))
    nv = gpu.get("nvml")
    if nv is None:
        t.add_row("NVML", "no NVML device matched by UUID")
    else:
        t.add_row("power limit", _fmt(nv.get("power_limit_w"), "W"))
        t.add_row("SM clock default/max", _clocks(nv))
        t.add_row("memory clock max", _fmt(nv.get("max_mem_clock_mhz"), "MHz"))
        t.add_row("persistence mode", _fmt(nv.get("persistence_mode")))
        t.add_row("MIG mode", _fmt(nv.get("mig_mode")))
        t.add_row("energy counter", _fmt(nv.get("energy_counter")))
    peak = gpu["peak"]
    if peak["available"]:
        tf = peak["tflops"]
        dense = ", ".join(f"{k} {_fmt(v)}" for k, v in tf.items() if v is not None)
        t.add_row("peak (dense TFLOP/s)", f"{peak['name']}: {dense}")
        t.add_row("peak bandwidth", _fmt(peak["memory_gbps"], "GB/s"))
        t.add_row("peak source", peak["source"])
    else:
        t.add_row("peak", peak["reason"])
    return _plain(t)


def _clocks(nv: dict[str, Any]) -> str:
    return f"{_fmt(nv.get('default_sm_clock_mhz'))} / {_fmt(nv.get('max_sm_clock_mhz'))} MHz"


def env_command(
    json_output: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show the device, driver, torch/CUDA versions, NVML status, clocks, power, and each
    GPU's peak-table entry (CPUs have none)."""
    import json

    env = collect()
    console = out_console()
    if json_output:
        console.print(json.dumps(env, indent=2, default=str), markup=False, soft_wrap=True)
        return
    console.print(_system_table(env))
    gpus = env.get("gpus", [])
    if not gpus:
        console.print("no CUDA device visible to torch: benchmarks run on the CPU", markup=False)
    for gpu in gpus:
        console.print(_gpu_table(gpu))
