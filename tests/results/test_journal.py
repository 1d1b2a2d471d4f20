"""The per-case journal: O(1) appends, timed consolidation, folding on load, recovery."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from attnbench.errors import ResultFileError
from attnbench.results import journal as journal_mod
from attnbench.results.journal import (
    DEFAULT_INTERVAL_S,
    ResultWriter,
    fold_journal,
    journal_path,
    read_journal,
    recover,
)
from attnbench.results.schema import CaseResult, RunResult
from attnbench.results.store import load_results, save_results


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def new_run() -> RunResult:
    return RunResult(
        suite={"name": "t", "content_hash": "h1", "case_count": 3},
        environment={"host": "x"},
        settings={},
        created_utc="2026-01-01T00:00:00Z",
    )


def case(i: int, status: str = "ok") -> CaseResult:
    return CaseResult(case_id=f"v.x/n{i}", variant="v.x", params={"seq_len": i}, status=status,
                      samples=[float(i), float(i) + 0.5])


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_record_journals_each_case_before_returning(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    clock = FakeClock()
    writer = ResultWriter(new_run(), out, clock=clock)
    writer.start()
    assert load_results(out, journal=False).cases == []
    writer.record(case(1))
    writer.record(case(2))
    jl = lines(journal_path(out))
    assert json.loads(jl[0])["content_hash"] == "h1"
    assert [json.loads(x)["case_id"] for x in jl[1:]] == ["v.x/n1", "v.x/n2"]
    assert load_results(out, journal=False).cases == []  # not consolidated yet
    assert [c.case_id for c in load_results(out).cases] == ["v.x/n1", "v.x/n2"]  # folded


def test_consolidation_cadence_on_a_fake_clock(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    clock = FakeClock()
    writer = ResultWriter(new_run(), out, interval_s=5.0, clock=clock)
    writer.start()
    assert writer.consolidations == 1
    writer.record(case(1))
    clock.now += 4.99
    writer.record(case(2))
    assert writer.consolidations == 1  # just under the interval: journal only
    clock.now += 0.01
    writer.record(case(3))
    assert writer.consolidations == 2  # interval reached: file rewritten, journal emptied
    assert [c.case_id for c in load_results(out, journal=False).cases] == [
        "v.x/n1", "v.x/n2", "v.x/n3"]
    assert len(lines(journal_path(out))) == 1  # header only
    clock.now += 1.0
    writer.record(case(4))
    assert writer.consolidations == 2
    writer.close()
    assert not journal_path(out).exists()
    assert len(load_results(out).cases) == 4


def test_slow_saves_stretch_the_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "r.json"
    clock = FakeClock()
    real_save = journal_mod.save_results

    def slow_save(*args: object, **kwargs: object) -> Path:
        clock.now += 1.0  # every save "takes" a second
        return real_save(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(journal_mod, "save_results", slow_save)
    writer = ResultWriter(new_run(), out, interval_s=5.0, clock=clock)
    writer.start()
    assert writer.next_interval_s() == pytest.approx(1.0 / journal_mod.SAVE_SHARE)
    clock.now += 19.0
    writer.record(case(1))
    assert writer.consolidations == 1  # 19 s < 20 s: saving stays <= 5 % of the run
    clock.now += 1.0
    writer.record(case(2))
    assert writer.consolidations == 2


def test_default_interval_is_a_few_seconds() -> None:
    assert 1.0 <= DEFAULT_INTERVAL_S <= 10.0


def test_in_memory_writer_writes_nothing(tmp_path: Path) -> None:
    run = new_run()
    writer = ResultWriter(run, None)
    writer.start()
    writer.record(case(1))
    writer.close()
    assert [c.case_id for c in run.cases] == ["v.x/n1"]
    assert list(tmp_path.iterdir()) == []


def test_a_case_recorded_twice_is_kept_once(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    writer = ResultWriter(new_run(), out, clock=FakeClock())
    writer.start()
    writer.record(case(1, "failed"))
    writer.record(case(1, "ok"))
    loaded = load_results(out)
    assert [(c.case_id, c.status) for c in loaded.cases] == [("v.x/n1", "ok")]


def test_result_changed_in_place_after_record_is_saved_fresh_at_close(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    writer = ResultWriter(new_run(), out, clock=FakeClock())
    writer.start()
    result = case(1)
    writer.record(result)
    result.warnings.append("LATE")
    writer.close()
    assert load_results(out).cases[0].warnings == ["LATE"]


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    writer = ResultWriter(new_run(), out, clock=FakeClock())
    writer.start()
    writer.record(case(1))
    with journal_path(out).open("a") as fh:
        fh.write('{"case_id": "v.x/n2", "var')  # the kill came mid-write
    assert [c.case_id for c in load_results(out).cases] == ["v.x/n1"]


def test_a_corrupt_complete_line_is_located(tmp_path: Path) -> None:
    out = save_results(new_run(), tmp_path / "r.json")
    jp = journal_path(out)
    header = {"attnbench_journal": 1, "created_utc": "2026-01-01T00:00:00Z",
              "content_hash": "h1"}
    jp.write_text(json.dumps(header) + "\n" + json.dumps(case(1).to_dict()) + "\nnot json\n")
    with pytest.raises(ResultFileError, match=r"r\.json\.journal:3: not a journaled case"):
        load_results(out)
    jp.write_text("[1, 2]\n")
    with pytest.raises(ResultFileError, match=r"journal:1: not an attnbench journal header"):
        read_journal(jp)


def test_journal_of_another_run_is_ignored_with_a_warning(tmp_path: Path) -> None:
    out = save_results(new_run(), tmp_path / "r.json")
    header = {"attnbench_journal": 1, "created_utc": "2025-05-05T00:00:00Z",
              "content_hash": "h1"}
    journal_path(out).write_text(json.dumps(header) + "\n" + json.dumps(case(1).to_dict()) + "\n")
    run = load_results(out)
    assert run.cases == []
    assert run.run["warnings"][0].startswith("JOURNAL_IGNORED")
    assert recover(out) == 0 and journal_path(out).exists()  # not ours to fold or remove


def test_empty_journal_folds_nothing(tmp_path: Path) -> None:
    out = save_results(new_run(), tmp_path / "r.json")
    journal_path(out).write_text("")
    assert fold_journal(new_run(), out) == 0


def test_recover_consolidates_and_removes_the_journal(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    writer = ResultWriter(new_run(), out, clock=FakeClock())
    writer.start()
    writer.record(case(1))
    writer.record(case(2))
    # the process is killed here: no close()
    assert recover(out) == 2
    assert not journal_path(out).exists()
    loaded = load_results(out, journal=False)
    assert [c.case_id for c in loaded.cases] == ["v.x/n1", "v.x/n2"]
    assert "journal" not in loaded.run
    assert recover(out) == 0  # nothing left to do


def test_file_layout_is_one_case_per_line(tmp_path: Path) -> None:
    run = new_run()
    run.cases = [case(1), case(2)]
    text = save_results(run, tmp_path / "r.json").read_text()
    case_lines = [x for x in text.splitlines() if x.startswith('  {"case_id"')]
    assert len(case_lines) == 2
    assert json.loads(text)["cases"][1]["samples"] == [2.0, 2.5]
    empty = save_results(new_run(), tmp_path / "e.json").read_text()
    assert json.loads(empty)["cases"] == [] and '"cases": []' in empty


HEADER = {"attnbench_journal": 1, "created_utc": "2026-01-01T00:00:00Z", "content_hash": "h1"}


def test_the_journal_header_names_the_run(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    writer = ResultWriter(new_run(), out, clock=FakeClock())
    writer.start()
    assert journal_path(out).read_text() == json.dumps(HEADER) + "\n"
    writer.record(case(1))
    assert journal_path(out).read_text() == (
        json.dumps(HEADER) + "\n" + json.dumps(case(1).to_dict()) + "\n"
    )
    assert journal_path(out) == tmp_path / "r.json.journal"


def test_read_journal_shapes(tmp_path: Path) -> None:
    jp = tmp_path / "r.json.journal"
    jp.write_text("")
    assert read_journal(jp) == (None, [])
    jp.write_text(json.dumps(HEADER))  # the header itself torn: nothing complete
    assert read_journal(jp) == (None, [])
    jp.write_text(json.dumps(HEADER) + "\n")
    assert read_journal(jp) == (HEADER, [])
    jp.write_text(json.dumps(HEADER) + "\n" + json.dumps(case(1).to_dict()) + "\n"
                  + json.dumps(case(2).to_dict()) + "\n")  # fmt: skip
    assert read_journal(jp) == (HEADER, [case(1), case(2)])


@pytest.mark.parametrize(
    ("text", "message"),
    [("not json\n", ":1: not an attnbench journal header"),
     ("[1, 2]\n", ":1: not an attnbench journal header"),
     ('{"created_utc": "x"}\n', ":1: not an attnbench journal header"),
     # a complete line that is not a case: the reason in Python's words follows
     (json.dumps(HEADER) + "\n[1]\n", ":2: not a journaled case ("),
     (json.dumps(HEADER) + "\n" + json.dumps(case(1).to_dict()) + '\n{"case_id": "a"}\n',
      ":3: not a journaled case (")],
)  # fmt: skip
def test_read_journal_refusals_word_for_word(tmp_path: Path, text: str, message: str) -> None:
    jp = tmp_path / "r.json.journal"
    jp.write_text(text)
    with pytest.raises(ResultFileError) as info:
        read_journal(jp)
    if message.endswith("("):
        assert str(info.value).startswith(f"{jp}{message}")
    else:
        assert str(info.value) == f"{jp}{message}"


def test_an_unreadable_journal_is_named(tmp_path: Path) -> None:
    jp = tmp_path / "r.json.journal"
    jp.mkdir()
    with pytest.raises(ResultFileError) as info:
        read_journal(jp)
    assert str(info.value) == f"cannot read journal {jp}: Is a directory"


def test_folding_notes_what_it_did(tmp_path: Path) -> None:
    out = save_results(new_run(), tmp_path / "r.json")
    jp = journal_path(out)
    run = new_run()
    assert fold_journal(run, out) == 0 and run.run == {}  # no journal at all
    jp.write_text(json.dumps(HEADER) + "\n")
    assert fold_journal(run, out) == 0
    assert run.run == {"journal": {"path": str(jp), "folded_cases": 0}}
    jp.write_text(json.dumps(HEADER) + "\n" + json.dumps(case(1).to_dict()) + "\n")
    run = new_run()
    assert fold_journal(run, out) == 1
    assert run.run == {"journal": {"path": str(jp), "folded_cases": 1}}
    assert run.cases == [case(1)]


def test_another_runs_journal_is_noted_after_earlier_warnings(tmp_path: Path) -> None:
    out = save_results(new_run(), tmp_path / "r.json")
    jp = journal_path(out)
    jp.write_text(json.dumps({**HEADER, "content_hash": "other"}) + "\n"
                  + json.dumps(case(1).to_dict()) + "\n")  # fmt: skip
    run = new_run()
    run.run["warnings"] = ["HOST_BUSY"]
    assert fold_journal(run, out) == 0
    assert run.run == {"warnings": [
        "HOST_BUSY",
        f"JOURNAL_IGNORED: {jp} belongs to another run (created 2026-01-01T00:00:00Z)",
    ]}  # fmt: skip
    for header in ({**HEADER, "attnbench_journal": 2}, {**HEADER, "created_utc": "later"}):
        jp.write_text(json.dumps(header) + "\n" + json.dumps(case(1).to_dict()) + "\n")
        assert fold_journal(new_run(), out) == 0


def test_recover_needs_both_files_and_consolidates_a_header_only_journal(
    tmp_path: Path,
) -> None:
    out = tmp_path / "r.json"
    journal_path(out).write_text(json.dumps(HEADER) + "\n")
    assert recover(out) == 0 and journal_path(out).exists()  # no result file to fold into
    save_results(new_run(), out)
    assert recover(out) == 0  # ours, with no case in it: consolidated, then removed
    assert not journal_path(out).exists()
    assert load_results(out).run == {}


def test_consolidation_at_exactly_the_interval(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    clock = FakeClock()
    writer = ResultWriter(new_run(), out, interval_s=4.0, clock=clock)
    writer.start()
    clock.now += 4.0
    writer.record(case(1))
    assert writer.consolidations == 2
    assert writer.next_interval_s() == 4.0  # saving took no (fake) time
    writer.close()
    assert writer.consolidations == 2  # close rewrites the file but is no consolidation
    assert writer.journal is None or not writer.journal.exists()
    assert ResultWriter(new_run(), None).journal is None


def test_a_folded_journal_note_is_dropped_when_the_run_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run = new_run()
    run.run["journal"] = {"path": "old", "folded_cases": 2}  # as load_results noted it
    writer = ResultWriter(run, out, clock=FakeClock())
    assert writer.next_interval_s() == DEFAULT_INTERVAL_S  # nothing saved yet
    writer.start()
    assert "journal" not in run.run
    assert load_results(out, journal=False).run == {}
    writer.close()


def test_close_releases_the_journal_and_may_be_repeated(tmp_path: Path) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_fds()
    writer = ResultWriter(new_run(), tmp_path / "r.json", clock=FakeClock())
    writer.start()
    writer.record(case(1))
    assert open_fds() == before + 1  # the journal stays open between records
    writer.close()
    assert open_fds() == before
    writer.close()  # a second close (an error path's finally) is harmless
    assert [c.case_id for c in load_results(tmp_path / "r.json").cases] == ["v.x/n1"]
