"""The baseline objectives (erase.objective rmu, grad_diff, npo) through the
Python binding: each golden run of tests/fixtures/erase/golden_<objective>/
(made by tools/reference/baselines_reference.py) gives per-step loss_erase /
loss_retain equal to the means of the reference's per-micro-step losses
(1e-5 relative, as tests/erase/test_baselines.c), and the objectives refuse
a consistency dataset."""

import json
import math
import os
import struct

import pytest

import elm
from conftest import ERASE_DIR, MODEL_DIR, read_safetensors

OBJECTIVES = ["rmu", "grad_diff", "npo"]


def golden(obj):
    gdir = os.path.join(ERASE_DIR, "golden_" + obj)
    with open(os.path.join(gdir, "config.json")) as f:
        spec = json.load(f)
    cfg = elm.Config(spec["config"])
    cfg.update(runtime_device="cpu", runtime_dtype="float32", runtime_threads=1)
    cfg.set("lora.init_from", os.path.join(gdir, "init_adapter"))
    losses = {}
    for name, (dtype, shape, raw) in read_safetensors(os.path.join(gdir, "losses.safetensors")).items():
        assert dtype == "F64"
        losses[name] = list(struct.unpack("<%dd" % shape[0], raw))
    return spec, cfg, losses


@pytest.mark.parametrize("obj", OBJECTIVES)
def test_baseline_matches_reference(obj):
    spec, cfg, losses = golden(obj)
    accum = int(spec["config"]["optim.accum"])
    steps = int(spec["config"]["optim.steps"])
    with elm.Model(MODEL_DIR, runtime_device="cpu", runtime_dtype="float32", runtime_threads=1) as m:
        with elm.Session(m, cfg) as s:
            for role in ("forget", "retain"):
                for g, fn in spec["data"][role].items():
                    s.attach(role, os.path.join(ERASE_DIR, fn), group=int(g))
            stats = list(s.run(steps, progress=False))
    assert len(stats) == steps
    for i, st in enumerate(stats):
        for key, got in (("loss_erase", st.loss_erase), ("loss_retain", st.loss_retain)):
            part = [x for x in losses[key][i * accum:(i + 1) * accum] if not math.isnan(x)]
            want = sum(part) / len(part)
            assert abs(got - want) <= 1e-5 * abs(want), (obj, i, key, got, want)


@pytest.mark.parametrize("obj", OBJECTIVES)
def test_baseline_refuses_consistency(obj):
    _, cfg, _ = golden(obj)
    with elm.Model(MODEL_DIR, runtime_device="cpu", runtime_dtype="float32", runtime_threads=1) as m:
        with elm.Session(m, cfg) as s:
            with pytest.raises(elm.ElmError) as e:
                s.attach("consistency", os.path.join(ERASE_DIR, "consistency.json"))
            assert e.value.status == elm.Status.E_INVALID
            assert "erase.objective " + obj in e.value.message
