"""Suite loading: valid files round-trip, every mistake is located and explained."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from attnbench.errors import InputError, SuiteError
from attnbench.suite import (
    AXIS_DEFAULTS,
    PowerSettings,
    Suite,
    TimingSettings,
    VariantRef,
    content_hash,
    load_suite,
    load_suite_text,
)

DATA = Path(__file__).parent / "data"

# Line numbers below are 1-based and refer to this text.
BASE = """\
version: 1
name: t
axes:
  seq_len: [128, 256]
  head_dim: 32
  causal: [false, true]
variants:
  - softmax.sdpa
  - {name: softmax, impl: streaming, params: {block_q: [64, 128]}}
"""


def error(text: str, overrides: tuple[str, ...] = ()) -> SuiteError:
    with pytest.raises(SuiteError) as info:
        load_suite_text(text, "s.yaml", overrides)
    return info.value


def drop_line(text: str, number: int) -> str:
    lines = text.splitlines(keepends=True)
    return "".join(lines[: number - 1] + lines[number:])


# ------------------------------------------------------------------------------ valid suites
def test_valid_fixture_round_trips_every_field() -> None:
    suite = load_suite(DATA / "valid.yaml")
    assert suite.name == "fixture"
    assert suite.description == "A suite that sets every key."
    assert suite.version == 1
    assert suite.device == "cuda:1"
    assert suite.dtypes == ("fp32", "bf16")
    assert suite.passes == ("fwd_bwd",)
    assert dict(suite.axes) == {
        "batch": (1, 2),
        "heads": (4,),
        "seq_len": (128, 256),
        "head_dim": (32,),
        "head_dim_v": (16,),
        "causal": (False, True),
    }
    assert suite.variants == (
        VariantRef("softmax.sdpa", line=15, column=5),
        VariantRef(
            "softmax.streaming",
            params={"block_q": (64, 128), "block_k": (256,)},
            line=16,
            column=5,
            axes={"causal": (False,)},
            dtypes=("fp32",),
        ),
    )
    assert suite.timing == TimingSettings(5.0, 3, 20.0, 1.5, 0.02, 50, "hot", True)
    assert suite.power == PowerSettings("off", 0.5, 20.0, 1.0, 2.0, 0.8)
    assert suite.check == "full"
    assert suite.seed == 7


def test_path_and_content_hash_are_recorded() -> None:
    path = DATA / "valid.yaml"
    suite = load_suite(path)
    assert suite.path == str(path)
    assert len(suite.content_hash) == 64 and suite.document["name"] == suite.name
    other = load_suite(path, ["seed=8"])
    assert other.content_hash not in ("", suite.content_hash)
    assert load_suite(path, ["seed=8"]).content_hash == other.content_hash


def test_defaults_for_optional_keys() -> None:
    suite = load_suite_text(BASE)
    assert isinstance(suite, Suite)
    assert suite.device == "auto"
    assert suite.dtypes == ("fp32",)
    assert suite.passes == ("fwd",)
    assert suite.axes["batch"] == AXIS_DEFAULTS["batch"] == (1,)
    assert suite.axes["heads"] == (8,)
    assert suite.axes["head_dim_v"] == (None,)
    assert suite.timing == TimingSettings()
    assert suite.power == PowerSettings()
    assert (suite.check, suite.seed, suite.description) == ("reduced", 0, "")


def test_variant_forms_resolve_to_full_names() -> None:
    text = BASE.replace("  - softmax.sdpa\n", "") + "  - softmax\n  - {name: softmax.naive}\n"
    names = [ref.name for ref in load_suite_text(text).variants]
    assert names == ["softmax.streaming", "softmax.sdpa", "softmax.naive"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("power: {enabled: true}", "on"),
        ("power: {enabled: false}", "off"),
        ("power: {enabled: off}", "off"),
        ("power: {enabled: on}", "on"),
        ("power: {enabled: auto}", "auto"),
    ],
)
def test_power_enabled_accepts_yaml_booleans(line: str, expected: str) -> None:
    base = BASE.replace("  - softmax.sdpa\n", "")
    assert load_suite_text(base + line + "\n").power.enabled == expected


def test_timing_settings_just_inside_the_limits_load() -> None:
    t = load_suite_text(BASE + "timing: {min_time_ms: 199, max_time_s: 0.2}\n").timing
    assert (t.min_time_ms, t.max_time_s, t.interleave) == (199, 0.2, True)
    # a warm-up budget above the default cap raises the cap with it; equal is allowed
    assert load_suite_text(BASE + "timing: {warmup_ms: 800}\n").timing.warmup_ms == 800
    t = load_suite_text(BASE + "timing: {warmup_ms: 40, warmup_max_ms: 40}\n").timing
    assert t.warmup_max_ms == 40
    # max_samples equal to min_samples is the tightest valid cap (one below is an error)
    t = load_suite_text(BASE + "timing: {min_samples: 9, max_samples: 9}\n").timing
    assert (t.min_samples, t.max_samples) == (9, 9)


def test_baseline_and_interleave_are_read() -> None:
    suite = load_suite_text(BASE + "baseline: softmax\ntiming: {interleave: false}\n")
    assert suite.baseline == "softmax.sdpa"  # the family's default implementation
    assert suite.timing.interleave is False
    assert load_suite_text(BASE).baseline is None


def test_yaml_words_stay_words() -> None:
    suite = load_suite_text(BASE.replace("name: t", "name: 2024") + "check: off\n")
    assert suite.name == "2024"
    assert suite.check == "off"


def test_head_dim_v_null_means_same_as_head_dim() -> None:
    suite = load_suite_text(BASE.replace("head_dim: 32", "head_dim: 32\n  head_dim_v: null"))
    assert suite.axes["head_dim_v"] == (None,)


def test_yaml_anchors_and_merge_keys() -> None:
    text = BASE + "timing: &t {min_samples: 3}\npower: {<<: {cooldown_s: 2}, min_window_s: 3}\n"
    suite = load_suite_text(text)
    assert suite.timing.min_samples == 3
    assert (suite.power.cooldown_s, suite.power.min_window_s) == (2.0, 3.0)


# ---------------------------------------------------------------------------------- errors
ERRORS = [
    # (id, text, line, column, parts of str(err))
    ("unknown top key", BASE + "varaints: []\n", 10, 1,
     ["unknown key 'varaints' in the suite", "did you mean 'variants'?", "allowed keys"]),
    ("unknown axes key", BASE.replace("  seq_len", "  seq_lem"), 4, 3,
     ["unknown key 'seq_lem' in axes; did you mean 'seq_len'?", "batch, heads, seq_len"]),
    ("unknown power key", BASE + "power: {enabld: on}\n", 10, 9,
     ["unknown key 'enabld' in power; did you mean 'enabled'?"]),
    ("unknown variant key", BASE.replace("impl: streaming", "imp: streaming"), 9, 21,
     ["unknown key 'imp' in variant entry 2; did you mean 'impl'?", "name, impl, params, axes"]),
    ("unknown variant axes key", BASE + "  - {name: softmax.naive, axes: {causl: [false]}}\n",
     10, 34, ["unknown key 'causl' in axes of softmax.naive; did you mean 'causal'?"]),
    ("seq_len not int", BASE.replace("[128, 256]", '"abc"'), 4, 12,
     ["axes.seq_len must be a positive integer, got 'abc' (a string)"]),
    ("heads float", BASE.replace("head_dim: 32", "head_dim: 32\n  heads: 1.5"), 6, 10,
     ["axes.heads must be a positive integer, got 1.5 (a number)"]),
    ("batch bool", BASE.replace("head_dim: 32", "head_dim: 32\n  batch: true"), 6, 10,
     ["axes.batch must be a positive integer, got true (a boolean)"]),
    ("causal maybe", BASE.replace("[false, true]", "maybe"), 6, 11,
     ["axes.causal must be true or false, got 'maybe' (a string)"]),
    ("min_samples negative", BASE + "timing: {min_samples: -3}\n", 10, 23,
     ["timing.min_samples must be a positive integer, got -3"]),
    ("max_time_s zero", BASE + "timing: {max_time_s: 0}\n", 10, 22,
     ["timing.max_time_s must be a number > 0, got 0"]),
    ("max below min samples", BASE + "timing: {min_samples: 9, max_samples: 3}\n", 10, 39,
     ["timing.max_samples (3) is below timing.min_samples (9)"]),
    ("min_time over max_time", BASE + "timing: {min_time_ms: 5000, max_time_s: 1}\n", 10, 23,
     ["must be below timing.max_time_s (1 s = 1000 ms)", "milliseconds"]),
    ("min_time equal to max_time", BASE + "timing: {max_time_s: 0.2}\n", 10, 22,
     ["timing.min_time_ms (200 ms) must be below timing.max_time_s (0.2 s = 200 ms)"]),
    ("warm-up cap under budget", BASE + "timing: {warmup_ms: 50, warmup_max_ms: 40}\n",
     10, 40, ["timing.warmup_max_ms (40 ms) is below timing.warmup_ms (50 ms)"]),
    ("interleave not a bool", BASE + "timing: {interleave: sometimes}\n", 10, 22,
     ["timing.interleave must be true or false"]),
    ("unknown baseline", BASE + "baseline: softmax.sdpx\n", 10, 11, ["softmax.sdpx"]),
    ("baseline not in suite", BASE + "baseline: softmax.naive\n", 10, 11,
     ["baseline 'softmax.naive' is not one of the suite's variants",
      "softmax.sdpa, softmax.streaming"]),
    ("flush", BASE + "timing: {flush: warm}\n", 10, 17,
     ["timing.flush must be one of cold | hot, got 'warm'"]),
    ("cuda_graph", BASE + "timing: {cuda_graph: 1}\n", 10, 22,
     ["timing.cuda_graph must be true or false, got 1 (an integer)"]),
    ("throttle over 1", BASE + "power: {throttle_fraction: 1.5}\n", 10, 28,
     ["power.throttle_fraction must be a number > 0 and <= 1, got 1.5"]),
    ("enabled maybe", BASE + "power: {enabled: maybe}\n", 10, 18,
     ["power.enabled must be one of auto | on | off, got 'maybe'"]),
    ("seed bool", BASE + "seed: true\n", 10, 7,
     ["seed must be an integer >= 0, got true (a boolean)"]),
    ("check", BASE + "check: ful\n", 10, 8,
     ["check must be one of reduced | full | off, got 'ful'", "did you mean 'full'?"]),
    ("missing version", drop_line(BASE, 1), 1, 1,
     ["the suite is missing the required key 'version'", "version: 1"]),
    ("missing name", drop_line(BASE, 2), 1, 1, ["missing the required key 'name'"]),
    ("missing variants", BASE.split("variants:")[0], 1, 1,
     ["missing the required key 'variants'", "variants: [softmax.sdpa"]),
    ("missing axes", "version: 1\nname: t\nvariants: [softmax.sdpa]\n", 1, 1,
     ["missing the required key 'axes'", "seq_len"]),
    ("missing seq_len", drop_line(BASE, 4), 3, 1,
     ["axes is missing the required key 'seq_len'", "seq_len: [1024, 4096]"]),
    ("missing variant name", BASE + "  - {impl: naive}\n", 10, 5,
     ["variant entry 3 is missing the required key 'name'"]),
    ("version 2", BASE.replace("version: 1", "version: 2"), 1, 10,
     ["unsupported suite version 2; supported versions: 1", "newer attnbench"]),
    ("version string", BASE.replace("version: 1", "version: '1'"), 1, 10,
     ["unsupported suite version '1'", "unquoted integer"]),
    ("unknown dtype", BASE + "dtype: [fp32, float16]\n", 10, 15,
     ["dtype must be one of fp32 | fp16 | bf16, got 'float16'", "did you mean 'fp16'?"]),
    ("unknown pass", BASE + "pass: fwd_bw\n", 10, 7,
     ["pass must be one of fwd | bwd | fwd_bwd, got 'fwd_bw'", "did you mean 'fwd_bwd'?"]),
    ("unknown device", BASE + "device: gpu\n", 10, 9,
     ["device must be one of auto | cpu | cuda | cuda:N, got 'gpu'", "did you mean 'cuda'?"]),
    ("bad cuda index", BASE + "device: cuda:x\n", 10, 9, ["got 'cuda:x'", "cuda:0"]),
    ("empty axis", BASE.replace("[128, 256]", "[]"), 4, 12,
     ["axes.seq_len is an empty list; an axis needs at least one value"]),
    ("duplicate axis value", BASE.replace("[128, 256]", "[128, 256, 128]"), 4, 23,
     ["axes.seq_len lists 128 twice (first at line 4)"]),
    ("empty dtype list", BASE + "dtype: []\n", 10, 8, ["dtype is an empty list"]),
    ("unknown variant", BASE.replace("softmax.sdpa", "sofmax.sdpa"), 8, 5,
     ["unknown variant 'sofmax.sdpa'", "Did you mean 'softmax.sdpa'?", "attnbench list"]),
    ("unknown impl", BASE.replace("impl: streaming", "impl: streeming"), 9, 12,
     ["unknown variant 'softmax.streeming'", "Did you mean 'softmax.streaming'?"]),
    ("dotted name with impl", BASE + "  - {name: softmax.sdpa, impl: math}\n", 10, 12,
     ["unknown variant 'softmax.sdpa.math'", "either 'name: family.impl'"]),
    ("unknown param", BASE.replace("block_q", "blok_q"), 9, 47,
     ["unknown key 'blok_q' in params of softmax.streaming; did you mean 'block_q'?",
      "block_q, block_k"]),
    ("bad param value", BASE.replace("[64, 128]", "[0, 64]"), 9, 57,
     ["bad value for parameter block_q of softmax.streaming: block_q must be >= 1, got 0",
      "query block size"]),
    ("param wrong type", BASE.replace("[64, 128]", "fast"), 9, 56,
     ["block_q must be int, got str 'fast'"]),
    ("params on a variant without any", BASE + "  - {name: softmax.naive, params: {x: 1}}\n",
     10, 36, ["softmax.naive takes no parameters, got 'x'"]),
    ("variant entry a number", BASE + "  - 42\n", 10, 5,
     ["variant entry 3 must be a name or a mapping, got 42 (an integer)"]),
    ("variants empty", BASE.split("variants:")[0] + "variants: []\n", 7, 11,
     ["variants must be a non-empty list of variant entries, got an empty list"]),
    ("axes a list", BASE.split("axes:")[0] + "axes: [1]\nvariants: [softmax.sdpa]\n", 3, 7,
     ["axes must be a mapping of 'key: value' lines, got a list"]),
    ("top level list", "- version: 1\n", 1, 1,
     ["a suite must be a mapping of 'key: value' lines, got a list", "minimal suite"]),
    ("duplicate key", BASE + "name: u\n", 10, 1,
     ["duplicate key 'name' (first given at line 2)"]),
    ("syntax", "version: 1\nname: [x\n", 3, 1,
     ["invalid YAML: expected ',' or ']'", "at line 2", "brackets are closed"]),
    ("bad indentation", "version: 1\n name: x\n", 2, 6,
     ["invalid YAML: mapping values are not allowed here"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "column", "parts"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_error_is_located_and_explained(
    text: str, line: int, column: int, parts: list[str]
) -> None:
    err = error(text)
    assert (err.path, err.line, err.column) == ("s.yaml", line, column), str(err)
    assert str(err).startswith(f"s.yaml:{line}:{column}: ")
    for part in parts:
        assert part in str(err)


def test_empty_file() -> None:
    err = error("")
    assert err.line is None
    assert str(err).startswith("s.yaml: the suite file is empty")


def test_error_files_report_their_path() -> None:
    with pytest.raises(SuiteError) as info:
        load_suite(DATA / "unknown_key.yaml")
    assert str(info.value).startswith(f"{DATA / 'unknown_key.yaml'}:9:3: unknown key")
    assert "did you mean 'min_samples'?" in str(info.value)
    with pytest.raises(SuiteError) as info:
        load_suite(DATA / "broken.yaml")
    assert (info.value.line, info.value.column) == (5, 11)
    with pytest.raises(SuiteError) as info:
        load_suite(DATA / "tabs.yaml")
    assert (info.value.line, info.value.column) == (4, 1)
    assert "indent with spaces" in str(info.value)


def test_missing_file_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        load_suite(DATA / "nope.yaml")
    assert str(info.value) == f"suite file not found: {DATA / 'nope.yaml'}"
    assert not isinstance(info.value, SuiteError)
    with pytest.raises(InputError, match="is a directory"):
        load_suite(DATA)


# ------------------------------------------------------------------------------- overrides
def test_overrides_apply_before_validation() -> None:
    suite = load_suite_text(
        BASE,
        overrides=[
            "axes.seq_len=[512, 1024]",
            "timing.min_time_ms=50",
            "dtype=bf16",
            "name=x",
            "power.enabled=off",
            "variants.1.params.block_q=[32]",
        ],
    )
    assert suite.axes["seq_len"] == (512, 1024)
    assert suite.timing.min_time_ms == 50.0
    assert suite.timing.min_samples == TimingSettings().min_samples
    assert suite.dtypes == ("bf16",)
    assert suite.name == "x"
    assert suite.power.enabled == "off"
    assert suite.variants[1].params == {"block_q": (32,)}


def test_override_value_may_contain_equals_and_empty_means_null() -> None:
    assert load_suite_text(BASE, overrides=["description=a=b"]).description == "a=b"
    err = error(BASE, ("axes.batch=",))
    assert str(err) == "--set axes.batch=: axes.batch must be a positive integer, got null (null)"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("axes.seq_lem=[128]",
         "--set axes.seq_lem=[128]: unknown key 'seq_lem' in axes; did you mean 'seq_len'?"),
        ("axs.seq_len=1",
         "--set axs.seq_len=1: unknown key 'axs' in the suite; did you mean 'axes'?"),
        ("axes.seq_len=abc", "--set axes.seq_len=abc: axes.seq_len must be a positive integer"),
        ("dtype=fp8", "--set dtype=fp8: dtype must be one of fp32 | fp16 | bf16, got 'fp8'"),
        ("seq_len", "--set seq_len: expected KEY=VALUE"),
        ("=3", "--set =3: expected KEY=VALUE"),
        ("axes..seq_len=3", "--set axes..seq_len=3: expected KEY=VALUE"),
        ("axes.seq_len=[1,", "--set axes.seq_len=[1,: invalid YAML"),
        ("name.x=1", "--set name.x=1: cannot set 'x': name is 't' (a string), not a mapping"),
        ("variants.7.name=x", "--set variants.7.name=x: variants is a list of 2; '7' is not an"),
    ],
)  # fmt: skip
def test_override_errors_name_the_override(override: str, expected: str) -> None:
    err = error(BASE, (override,))
    assert err.line is None
    assert err.path == f"--set {override}"
    assert str(err).startswith(expected)


def test_override_errors_do_not_hide_file_errors() -> None:
    err = error(BASE.replace("  seq_len", "  seq_lem"), ("axes.seq_len=[1]",))
    assert (err.path, err.line) == ("s.yaml", 4)


@pytest.mark.parametrize(
    ("name", "why"),
    [("../escape", "contains '/'"), ("a/b", "contains '/'"), ("up..", "contains '..'"),
     (".hidden", "starts with '.'")],
)
def test_suite_names_that_are_not_one_path_segment_are_rejected(name: str, why: str) -> None:
    text = f"version: 1\nname: {name}\naxes: {{seq_len: [16], head_dim: 8}}\nvariants: [softmax]\n"
    with pytest.raises(SuiteError) as err:
        load_suite_text(text, "s.yaml")
    assert str(err.value).startswith("s.yaml:2:7: name ")
    assert why in str(err.value)


def test_plain_names_are_fine() -> None:
    text = "version: 1\nname: long_context-v1.2\naxes: {seq_len: [16], head_dim: 8}\n"
    assert load_suite_text(text + "variants: [softmax]\n").name == "long_context-v1.2"


def test_hash_ignores_comments_and_layout_but_not_values() -> None:
    base = "version: 1\nname: h\naxes: {seq_len: [16], head_dim: 8}\nvariants: [softmax]\n"
    restyled = (
        "# a comment\nversion: 1   # trailing\nname: 'h'\n\naxes:\n  head_dim: 8\n"
        "  seq_len:\n    - 16\nvariants:\n  - softmax\n"
    )
    assert load_suite_text(base).content_hash == load_suite_text(restyled).content_hash
    assert load_suite_text(base).content_hash != load_suite_text(base + "seed: 1\n").content_hash
    assert (load_suite_text(base, overrides=["seed=1"]).content_hash
            == load_suite_text(base + "seed: 1\n").content_hash)


# --------------------------------------------------------------------- exact loader messages
SMALL = "version: 1\nname: t\naxes: {seq_len: [16], head_dim: 8}\nvariants: [softmax.naive]\n"
DEVICE_HINT = "\n  hint: cuda:N picks GPU number N (e.g. cuda:0); auto uses a GPU when there is one"
NAME_TAIL = (
    "; it becomes the result file name results/<name>-<time>.json\n  hint: use letters, "
    "digits, '_', '-' and '.' (not '..'), e.g. 'name: long_context'"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SMALL + "device: 3\n",
         "s.yaml:5:9: device must be one of auto | cpu | cuda | cuda:N, got 3 (an integer)"
         + DEVICE_HINT),
        (SMALL + "device: cudaa\n",
         "s.yaml:5:9: device must be one of auto | cpu | cuda | cuda:N, got 'cudaa' (a string); "
         "did you mean 'cuda'?" + DEVICE_HINT),
        (SMALL + "check: true\n",
         "s.yaml:5:8: check must be one of reduced | full | off, got true (a boolean)"),
        (SMALL + "baseline: [softmax.naive]\n",
         "s.yaml:5:11: baseline must be a string, got a list"),
        (SMALL + "baseline: softmax.sdpx\n",
         "s.yaml:5:11: baseline: unknown variant 'softmax.sdpx'. Did you mean 'softmax.sdpa'? "),
        (SMALL.replace("version: 1", "version: true"),
         "s.yaml:1:10: unsupported suite version true; supported versions: 1\n"
         "  hint: write 'version: 1' (an unquoted integer)"),
        (SMALL.replace("version: 1", "version: 0"),
         "s.yaml:1:10: unsupported suite version 0; supported versions: 1\n"
         "  hint: write 'version: 1' (an unquoted integer)"),
        (SMALL.replace("version: 1", "version: 2"),
         "s.yaml:1:10: unsupported suite version 2; supported versions: 1\n"
         "  hint: this file needs a newer attnbench: pip install -U attnbench"),
        (SMALL.replace("name: t", "name: 'a\\b'"), "s.yaml:2:7: name 'a\\\\b' contains '\\\\'"
         + NAME_TAIL),
        (SMALL.replace("name: t", 'name: "a\\0b"'), "s.yaml:2:7: name 'a\\x00b' contains '\\x00'"
         + NAME_TAIL),
        (SMALL.replace("name: t", "name: ' '"), "s.yaml:2:7: name ' ' is empty" + NAME_TAIL),
        (SMALL.replace("name: t", "name: ''"), "s.yaml:2:7: name '' is empty" + NAME_TAIL),
        (SMALL.replace("name: t", "name: a/..b"), "s.yaml:2:7: name 'a/..b' contains '/'"
         + NAME_TAIL),
        (SMALL + "description: [a]\n", "s.yaml:5:14: description must be a string, got a list"),
        (SMALL + "seed: -1\n", "s.yaml:5:7: seed must be an integer >= 0, got -1 (an integer)"),
        (SMALL + "cpu: {threads: 0}\n",
         "s.yaml:5:16: cpu.threads must be a positive integer, got 0 (an integer)"),
        (SMALL + "cpu: {thread: 3}\n",
         "s.yaml:5:7: unknown key 'thread' in cpu; did you mean 'threads'?\n"
         "  hint: allowed keys in cpu: threads"),
        (SMALL + "timing: 3\n",
         "s.yaml:5:9: timing must be a mapping of 'key: value' lines, got 3 (an integer)"),
        (SMALL + "power: 3\n",
         "s.yaml:5:8: power must be a mapping of 'key: value' lines, got 3 (an integer)"),
        (SMALL + "cpu: 3\n",
         "s.yaml:5:6: cpu must be a mapping of 'key: value' lines, got 3 (an integer)"),
        (SMALL + "power: {min_window_s: 0}\n",
         "s.yaml:5:23: power.min_window_s must be a number > 0, got 0 (an integer)"),
        (SMALL + "power: {sample_period_ms: 0}\n",
         "s.yaml:5:27: power.sample_period_ms must be a number > 0, got 0 (an integer)"),
        (SMALL + "power: {cooldown_s: -1}\n",
         "s.yaml:5:21: power.cooldown_s must be a number >= 0, got -1 (an integer)"),
        (SMALL + "power: {idle_baseline_s: -1}\n",
         "s.yaml:5:26: power.idle_baseline_s must be a number >= 0, got -1 (an integer)"),
        (SMALL + "power: {enabled: 1}\n",
         "s.yaml:5:18: power.enabled must be one of auto | on | off, got 1 (an integer)"),
        (SMALL + "timing: {warmup_ms: -1}\n",
         "s.yaml:5:21: timing.warmup_ms must be a number >= 0, got -1 (an integer)"),
        (SMALL + "timing: {min_time_ms: -1}\n",
         "s.yaml:5:23: timing.min_time_ms must be a number >= 0, got -1 (an integer)"),
        (SMALL + "timing: {target_rel_iqr: -0.5}\n",
         "s.yaml:5:26: timing.target_rel_iqr must be a number >= 0, got -0.5 (a number)"),
        (SMALL + "timing: {max_samples: 0}\n",
         "s.yaml:5:23: timing.max_samples must be a positive integer, got 0 (an integer)"),
        (SMALL + "timing: {warmup_max_ms: -1}\n",
         "s.yaml:5:25: timing.warmup_max_ms must be a number >= 0, got -1 (an integer)"),
        # a rule between two keys points at whichever of them the file sets
        (SMALL + "timing: {min_samples: 200000}\n",
         "s.yaml:5:23: timing.max_samples (100000) is below timing.min_samples (200000)\n"
         "  hint: raise max_samples or lower min_samples"),
        (SMALL + "timing: {max_samples: 2}\n",
         "s.yaml:5:23: timing.max_samples (2) is below timing.min_samples (10)\n"
         "  hint: raise max_samples or lower min_samples"),
        (SMALL + "timing: {min_time_ms: 20000}\n",
         "s.yaml:5:23: timing.min_time_ms (20000 ms) must be below timing.max_time_s (10 s = "
         "10000 ms): at or above it every case stops on max_time before any other rule can fire"
         "\n  hint: min_time_ms is in milliseconds, max_time_s in seconds; raise max_time_s or "
         "lower min_time_ms"),
        (SMALL + "timing: {warmup_max_ms: 1}\n",
         "s.yaml:5:25: timing.warmup_max_ms (1 ms) is below timing.warmup_ms (25 ms)\n"
         "  hint: warmup_ms is the warm-up budget, warmup_max_ms its cap; raise warmup_max_ms"),
    ],
)  # fmt: skip
def test_loader_message_word_for_word(text: str, message: str) -> None:
    assert str(error(text)).startswith(message)
    if not message.endswith("? "):
        assert str(error(text)) == message


def test_unknown_baseline_keeps_its_hint() -> None:
    assert str(error(SMALL + "baseline: softmax.sdpx\n")).endswith(
        "\n  hint: name one of the suite's variants, e.g. softmax.sdpa"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [("check: false", "off"), ("check: off", "off"), ("check: full", "full"),
     ("check: reduced", "reduced")],
)  # fmt: skip
def test_check_false_reads_as_off(line: str, expected: str) -> None:
    assert load_suite_text(SMALL + line + "\n").check == expected


def test_cpu_threads_and_seed_zero_are_read() -> None:
    suite = load_suite_text(SMALL + "cpu: {threads: 3}\nseed: 0\n")
    assert (suite.cpu.threads, suite.seed) == (3, 0)
    assert load_suite_text(SMALL).cpu.threads is None


def test_errors_of_text_without_a_path_name_the_string() -> None:
    with pytest.raises(SuiteError) as info:
        load_suite_text(SMALL.replace("version: 1", "version: 2"))
    assert str(info.value).startswith("<string>:1:10: unsupported suite version 2")
    assert load_suite_text(SMALL).path == "<string>"


# ---------------------------------------------------------------------------- content_hash
def test_content_hash_of_the_bytes_is_the_loaded_suites_hash() -> None:
    data = SMALL.encode()
    assert content_hash(data) == load_suite_text(SMALL).content_hash
    with_seed = load_suite_text(SMALL, overrides=["seed=3"])
    assert content_hash(data, ["seed=3"]) == with_seed.content_hash
    assert content_hash(data, ["seed=3"]) != content_hash(data)
    restyled = (
        b"# comment\nname: t\nversion: 1\nvariants:\n  - softmax.naive\n"
        b"axes:\n  head_dim: 8\n  seq_len: [16]\n"
    )
    assert content_hash(restyled) == content_hash(data)


def test_content_hash_of_an_empty_file_is_the_hash_of_null() -> None:
    null = hashlib.sha256(b"null").hexdigest()
    assert content_hash(b"") == null
    assert content_hash(b"", ["seed=1"]) == null  # nothing to apply an override to


def test_content_hash_errors_name_the_suite_or_the_override() -> None:
    with pytest.raises(SuiteError) as info:
        content_hash(b"a: [")
    assert str(info.value).startswith("<suite>:1:5: invalid YAML: expected the node content")
    with pytest.raises(SuiteError) as info:
        content_hash(SMALL.encode(), ["name.x=1"])
    assert str(info.value) == (
        "--set name.x=1: cannot set 'x': name is 't' (a string), not a mapping"
    )
    with pytest.raises(SuiteError) as info:
        content_hash(SMALL.encode(), ["nokey"])
    assert str(info.value).startswith("--set nokey: expected KEY=VALUE")


# ------------------------------------------------------------------------------ file reads
@pytest.mark.parametrize(
    ("data", "line", "column", "byte"),
    [(b"\xe9version: 1\n", 1, 1, "e9"), (b"version: 1\nname: caf\xc3\n", 2, 10, "c3"),
     (b"version: 1\n\n  \xff\n", 3, 3, "ff"), (b"\n\xff", 2, 1, "ff")],
)  # fmt: skip
def test_bytes_that_are_not_utf8_are_located(
    tmp_path: Path, data: bytes, line: int, column: int, byte: str
) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert (info.value.line, info.value.column) == (line, column)
    assert str(info.value) == (
        f"{path}:{line}:{column}: not UTF-8 text (byte 0x{byte})\n  hint: save the suite as UTF-8"
    )


def test_an_unreadable_file_is_an_input_error_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(SMALL)

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(InputError) as info:
        load_suite(path)
    assert str(info.value) == f"cannot read suite file {path}: Permission denied"
    assert not isinstance(info.value, SuiteError)

    def bare(self: Path) -> bytes:
        raise OSError("device gone")

    monkeypatch.setattr(Path, "read_bytes", bare)
    with pytest.raises(InputError) as info:
        load_suite(path)
    assert str(info.value) == f"cannot read suite file {path}: device gone"


def test_a_directory_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_suite(tmp_path)
    assert str(info.value) == f"suite path is a directory, not a file: {tmp_path}"
    assert load_suite(str(DATA / "valid.yaml")).path == str(DATA / "valid.yaml")


def test_an_empty_file_shows_a_minimal_suite() -> None:
    assert str(error("")) == (
        "s.yaml: the suite file is empty\n  hint: a minimal suite: {version: 1, name: mine, "
        "axes: {seq_len: [1024], head_dim: [64]}, variants: [softmax.sdpa]}"
    )
    assert str(error("# only a comment\n")).startswith("s.yaml: the suite file is empty\n")


@pytest.mark.parametrize(
    ("name", "why"),
    [("up..", "contains '..'"), (".hidden", "starts with '.'"), ("a/b", "contains '/'")],
)
def test_a_bad_suite_name_message_word_for_word(name: str, why: str) -> None:
    text = SMALL.replace("name: t", f"name: {name}")
    assert str(error(text)) == f"s.yaml:2:7: name {name!r} {why}" + NAME_TAIL


SIZE_HINT = (
    "\n  hint: sweep fewer values, split the suite, or raise the limit with --max-total-cases N"
)
THREE = "version: 1\nname: t\naxes: {seq_len: [16, 32, 48], head_dim: 8}\n"


@pytest.mark.parametrize(
    ("variants", "limit", "message"),
    [
        ("[softmax.naive]", 2, "the suite expands to 3 cases, more than the limit of 2"),
        # params are left out of the early count (no registry yet): a lower bound
        ("[{name: softmax.streaming, params: {block_q: [16, 32]}}]", 2,
         "the suite expands to at least 3 cases, more than the limit of 2"),
        # the exact count after the registry, params included, is no lower bound
        ("[{name: softmax.streaming, params: {block_q: [16, 32]}}]", 5,
         "the suite expands to 6 cases, more than the limit of 5"),
    ],
)  # fmt: skip
def test_the_case_limit_message_word_for_word(variants: str, limit: int, message: str) -> None:
    with pytest.raises(SuiteError) as info:
        load_suite_text(THREE + f"variants: {variants}\n", "s.yaml", max_total_cases=limit)
    assert str(info.value) == f"s.yaml: {message}" + SIZE_HINT
    assert info.value.line is None


def test_text_with_a_lone_surrogate_is_a_suite_error_not_a_crash() -> None:
    # text from a decoder run with errors="surrogateescape" can hold lone surrogates
    assert str(error("version: 1\nname: \ud800\n")).startswith(
        "s.yaml: invalid YAML: unacceptable character #xd800: special characters are not allowed"
    )
