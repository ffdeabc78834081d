"""Shared fixtures: the repository's tiny models and erase data."""

import json
import os
import struct
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))

import elm  # noqa: E402

MODEL_DIR = os.path.join(REPO, "tests", "fixtures", "models", "llama-tied")
ERASE_DIR = os.path.join(REPO, "tests", "fixtures", "erase")
DATA_DIR = os.path.join(REPO, "tests", "fixtures", "data")
GOLDEN_DIR = os.path.join(REPO, "tests", "fixtures", "golden")
HEADER = os.path.join(REPO, "include", "elm.h")


def read_safetensors(path):
    """{name: (dtype, shape, bytes)} of a safetensors file (no dependency)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = (meta["dtype"], meta["shape"], body[a:b])
    return out


# The 3-step erasure every front end runs (the golden_concat configuration of
# tests/fixtures/erase, on the tiny llama-tied model, CPU fp32).
ERASE_SETTINGS = {
    "runtime.device": "cpu",
    "runtime.dtype": "float32",
    "runtime.threads": 1,
    "runtime.seed": 1234,
    "lora.rank": 4,
    "lora.alpha": 8,
    "lora.dropout": 0,
    "lora.layers": "4-7",
    "lora.targets": "q,k,v,o,gate,up,down",
    "erase.objective": "elm",
    "erase.eta": 4,
    "erase.eta_schedule": "ramp",
    "erase.tau": 1.2,
    "erase.top_k": 50,
    "erase.loss": "soft_ce",
    "erase.retain_loss": "hard",
    "erase.template_choice": "cycle",
    "erase.alignment": "concat",
    "erase.mix": "0,0,1",
    "optim.accum": 2,
    "optim.lr": 1e-3,
    "optim.schedule": "cosine",
    "optim.steps": 3,
    "optim.warmup": 1,
    "optim.weight_decay": 0.01,
}


def erase_config(**extra):
    cfg = elm.Config(ERASE_SETTINGS)
    cfg.set("erase.expert_templates", os.path.join(ERASE_DIR, "expert.txt"))
    cfg.set("erase.novice_templates", os.path.join(ERASE_DIR, "novice.txt"))
    cfg.set("lora.init_from", os.path.join(ERASE_DIR, "golden_concat", "init_adapter"))
    cfg.update(**extra)
    return cfg


def attach_erase_data(session):
    e = lambda name: os.path.join(ERASE_DIR, name)  # noqa: E731
    session.set_concept("zephyrite", 0)
    session.set_concept("glowmoss brewing", 1)
    session.attach("forget", e("forget0.jsonl"), group=0)
    session.attach("forget", e("forget1.jsonl"), group=1)
    session.attach("retain", e("retain.jsonl"), group=0)
    session.attach("retain", e("retain.jsonl"), group=1)
    session.attach("consistency", e("consistency.json"), group=0)


def has(symbol):
    return elm._lib.lib.has(symbol)


@pytest.fixture(scope="session")
def model():
    m = elm.Model(MODEL_DIR, runtime_device="cpu", runtime_dtype="float32", runtime_threads=1)
    yield m
    m.close()


@pytest.fixture
def erase_session(model):
    s = elm.Session(model, erase_config())
    attach_erase_data(s)
    yield s
    s.close()
