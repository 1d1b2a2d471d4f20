"""The CI example parses and every attnbench command in it exists with the options it uses."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer.main
import yaml

from attnbench.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "github-gpu-gate.yml"


def _commands() -> list[list[str]]:
    """Every ``attnbench ...`` invocation in the workflow's ``run`` scripts, as argv."""
    workflow = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    out = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in str(step.get("run", "")).splitlines():
                words = shlex.split(line, comments=True)
                for i, word in enumerate(words):
                    if word == "attnbench" or word.endswith("/attnbench"):
                        end = next(
                            (j for j, w in enumerate(words[i:], i) if w in ("|", ">", "||", "&&")),
                            None,
                        )
                        out.append(words[i + 1 : end])
    return out


def test_workflow_is_valid_yaml_with_a_gpu_runner() -> None:
    workflow = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    job = workflow["jobs"]["gate"]
    assert "self-hosted" in job["runs-on"] and "gpu" in job["runs-on"]
    names = [step.get("name", "") for step in job["steps"]]
    assert any("base" in n.lower() for n in names) and any("head" in n.lower() for n in names)


def test_every_attnbench_command_and_option_exists() -> None:
    group = typer.main.get_command(app)
    ctx = group.make_context("attnbench", [], resilient_parsing=True)
    used = _commands()
    assert {argv[0] for argv in used} >= {"run", "gate", "compare", "validate", "env"}
    for argv in used:
        command = group.get_command(ctx, argv[0])  # type: ignore[attr-defined]
        assert command is not None, f"attnbench {argv[0]} does not exist"
        known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for word in argv[1:]:
            if word.startswith("-"):
                assert word.split("=")[0] in known, f"attnbench {argv[0]} has no option {word}"
        ctx = command.make_context(command.name or argv[0], list(argv[1:]), resilient_parsing=True)
        assert ctx.params is not None  # the arguments parse


def test_gate_in_the_example_is_what_sets_the_job_status() -> None:
    gates = [argv for argv in _commands() if argv[0] == "gate"]
    assert gates and all("--max-regression" in argv for argv in gates)
