"""The 3-step erasure on the tiny fixture; save, resume, merge."""

import math
import os

import pytest

import elm
from conftest import MODEL_DIR, attach_erase_data, erase_config


def test_three_step_erasure(erase_session, tmp_path):
    stats = list(erase_session.run(3, progress=False))
    assert [s.step for s in stats] == [1, 2, 3]
    assert stats[-1].micro_steps == 6
    for s in stats:
        assert isinstance(s, elm.StepStats)
        for v in (s.loss, s.loss_erase, s.loss_retain, s.grad_norm, s.lr):
            assert math.isfinite(v)
        assert s.tokens > 0
        assert "loss" in s.losses_line()
    out = tmp_path / "adapter"
    erase_session.save(str(out))
    assert (out / "adapter_config.json").exists()
    assert (out / "adapter_model.safetensors").exists()


def test_runs_are_reproducible(model):
    def run():
        with elm.Session(model, erase_config()) as s:
            attach_erase_data(s)
            return [x.losses_line() for x in s.run(2, progress=False)]

    assert run() == run()


def test_resume_continues_identically(model, tmp_path):
    with elm.Session(model, erase_config()) as s:
        attach_erase_data(s)
        s.step()
        s.save(str(tmp_path / "ckpt"))
        want = s.step().losses_line()
    with elm.Session(model, erase_config()) as s:
        attach_erase_data(s)
        s.resume(str(tmp_path / "ckpt"))
        assert s.step().losses_line() == want


def test_apply_to_model_and_save_merged(tmp_path):
    np = pytest.importorskip("numpy")
    with elm.Model(MODEL_DIR, runtime_threads=1) as m:
        ids = m.tokenizer.encode("Zephyrite hums.")
        before = m.logits(ids)
        with elm.Session(m, erase_config()) as s:
            attach_erase_data(s)
            s.step()
            s.apply_to_model()
            after = m.logits(ids)
            assert not np.array_equal(before, after)
            s.save_merged(str(tmp_path / "merged"))
        with elm.Model(str(tmp_path / "merged"), runtime_threads=1) as merged:
            np.testing.assert_allclose(merged.logits(ids), after, atol=1e-4)


def test_attach_errors(model):
    with elm.Session(model, erase_config()) as s:
        with pytest.raises(elm.ElmError) as e:
            s.attach("bogus", os.devnull)
        assert e.value.status == elm.Status.E_INVALID
        assert "forget" in e.value.message


def test_generate_and_eval(model, tmp_path):
    from conftest import DATA_DIR, ERASE_DIR

    out = elm.generate(model, "Zephyrite is", gen_max_new_tokens=5)
    assert isinstance(out, str)
    outs = model.generate(["Zephyrite is", "The baker"], gen_max_new_tokens=4)
    assert len(outs) == 2 and outs[0] == out[: len(outs[0])] or isinstance(outs[0], str)
    # greedy generation is deterministic
    assert elm.generate(model, "Zephyrite is", gen_max_new_tokens=5) == out

    r = elm.eval_mcq(model, os.path.join(DATA_DIR, "questions.json"))
    assert r.n == len(r.predicted) == len(r.answers) == len(r.margins) > 0
    assert 0.0 <= r.accuracy <= 1.0 and r.ci[0] <= r.accuracy <= r.ci[1]

    p = elm.eval_perplexity(model, os.path.join(ERASE_DIR, "retain.jsonl"))
    assert p.n_tokens > 0 and p.perplexity > 1.0
    assert math.isclose(math.log(p.perplexity), p.nll, rel_tol=1e-6)


FIELDS = ["event", "step", "micro_steps", "loss", "loss_erase", "loss_retain", "loss_consistency", "loss_train",
          "grad_norm", "lr", "tokens", "seconds", "elapsed"]


def test_run_logger_forms(model, tmp_path):
    """Session.run(logger=...): a callable, a wandb-like .log, a
    SummaryWriter-like .add_scalar and a JSONL path all get every step's
    metrics, equal to the StepStats the run yields (the CLI's field names)."""
    class Wandb:
        def __init__(self):
            self.calls = []

        def log(self, d, step=None):
            self.calls.append((step, d))

    class Writer:
        def __init__(self):
            self.scalars = []

        def add_scalar(self, tag, value, step):
            self.scalars.append((tag, value, step))

    got, wb, tb, path = [], Wandb(), Writer(), tmp_path / "m.jsonl"
    for logger in (got.append, wb, tb, str(path)):
        with elm.Session(model, erase_config()) as s:
            attach_erase_data(s)
            stats = list(s.run(2, progress=False, logger=logger))
    assert [list(d) for d in got] == [FIELDS, FIELDS]
    elapsed = 0.0
    for d, st in zip(got, stats):
        elapsed += st.seconds
        assert d["step"] == st.step and d["loss"] == st.loss and d["loss_erase"] == st.loss_erase
        assert d["tokens"] == st.tokens and d["lr"] == st.lr
        assert d["loss_train"] is None  # not computed by an elm objective: None, not NaN
        assert d["elapsed"] >= d["seconds"]
    # the runs are reproducible, so every logger saw the same losses
    assert [(step, d["loss"]) for step, d in wb.calls] == [(1, got[0]["loss"]), (2, got[1]["loss"])]
    assert "event" not in wb.calls[0][1]
    assert ("elm/loss", got[1]["loss"], 2) in tb.scalars
    assert not any(tag == "elm/loss_train" for tag, _, _ in tb.scalars)  # None is not a scalar
    import json
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert [x["loss"] for x in lines] == [d["loss"] for d in got]
    with pytest.raises(TypeError, match="logger"):
        with elm.Session(model, erase_config()) as s:
            attach_erase_data(s)
            list(s.run(1, progress=False, logger=42))
