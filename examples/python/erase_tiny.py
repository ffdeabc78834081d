#!/usr/bin/env python3
"""Erase a concept from the tiny fixture model, end to end, from Python:
load, datasets, session, 3 steps printing losses, save the adapter, generate
before and after.

The same run as examples/c/erase_tiny.c and `cargo run --example erase_tiny`:
the "step" lines are identical (examples/check-identical.sh).

usage: erase_tiny.py [REPO_ROOT [OUT_DIR]]
"""

import os
import sys
import tempfile

import elm


def config(root):
    data = os.path.join(root, "tests", "fixtures", "erase")
    # The configuration every front end uses for this example (CPU, fp32).
    return elm.Config(
        runtime_device="cpu",
        runtime_dtype="float32",
        runtime_threads=1,
        runtime_seed=1234,
        lora={"rank": 4, "alpha": 8.0, "dropout": 0.0, "layers": "4-7",
              "init_from": os.path.join(data, "golden_concat", "init_adapter")},
        erase={"eta": 4.0, "template_choice": "cycle", "mix": "0,0,1",
               "expert_templates": os.path.join(data, "expert.txt"),
               "novice_templates": os.path.join(data, "novice.txt")},
        optim={"accum": 2, "lr": 1e-3, "schedule": "cosine", "steps": 3, "warmup": 1},
        gen_max_new_tokens=16,
    )


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    root = argv[1] if len(argv) > 1 else os.path.join(here, "..", "..")
    out_dir = argv[2] if len(argv) > 2 else os.path.join(tempfile.gettempdir(), "elm-erase-tiny-python")
    data = os.path.join(root, "tests", "fixtures", "erase")
    cfg = config(root)

    with elm.Model(os.path.join(root, "tests", "fixtures", "models", "llama-tied"), cfg) as model:
        info = model.info
        print("model %s layers %d vocab %d" % (info.architecture, info.n_layers, info.n_vocab))
        prompt = "Zephyrite is"
        print('before: "%s"' % elm.generate(model, prompt, cfg))

        with elm.Session(model, cfg) as s:
            s.set_concept("zephyrite", group=0)
            s.set_concept("glowmoss brewing", group=1)
            s.attach("forget", elm.Dataset(os.path.join(data, "forget0.jsonl"), cfg), group=0)
            s.attach("forget", elm.Dataset(os.path.join(data, "forget1.jsonl"), cfg), group=1)
            s.attach("retain", elm.Dataset(os.path.join(data, "retain.jsonl"), cfg), group=0)
            s.attach("retain", elm.Dataset(os.path.join(data, "retain.jsonl"), cfg), group=1)
            s.attach("consistency", elm.Dataset(os.path.join(data, "consistency.json"), cfg), group=0)
            for st in s.run(3, progress=False):
                # %.9g: nine significant digits, the loss format of every front end
                print("step %d loss %.9g erase %.9g retain %.9g consistency %.9g"
                      % (st.step, st.loss, st.loss_erase, st.loss_retain, st.loss_consistency))
            s.save(out_dir)
            print("adapter saved to %s" % out_dir)
            s.apply_to_model()
            print('after: "%s"' % elm.generate(model, prompt, cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
