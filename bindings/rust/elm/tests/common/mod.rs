#![allow(dead_code)]
use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

pub fn model_dir() -> PathBuf {
    repo().join("tests/fixtures/models/llama-tied")
}

pub fn erase_dir() -> PathBuf {
    repo().join("tests/fixtures/erase")
}

/// The shared 3-step erasure configuration (as in the examples).
pub fn erase_config() -> elm::Config {
    let e = erase_dir();
    let mut b = elm::ConfigBuilder::new();
    for (k, v) in [
        ("runtime.device", "cpu"),
        ("runtime.dtype", "float32"),
        ("runtime.threads", "1"),
        ("runtime.seed", "1234"),
        ("lora.rank", "4"),
        ("lora.alpha", "8"),
        ("lora.dropout", "0"),
        ("lora.layers", "4-7"),
        ("lora.targets", "q,k,v,o,gate,up,down"),
        ("erase.objective", "elm"),
        ("erase.eta", "4"),
        ("erase.eta_schedule", "ramp"),
        ("erase.tau", "1.2"),
        ("erase.top_k", "50"),
        ("erase.loss", "soft_ce"),
        ("erase.retain_loss", "hard"),
        ("erase.template_choice", "cycle"),
        ("erase.alignment", "concat"),
        ("erase.mix", "0,0,1"),
        ("optim.accum", "2"),
        ("optim.lr", "1e-3"),
        ("optim.schedule", "cosine"),
        ("optim.steps", "3"),
        ("optim.warmup", "1"),
        ("optim.weight_decay", "0.01"),
    ] {
        b = b.set(k, v);
    }
    b.set("erase.expert_templates", e.join("expert.txt").to_str().unwrap())
        .set("erase.novice_templates", e.join("novice.txt").to_str().unwrap())
        .set("lora.init_from", e.join("golden_concat/init_adapter").to_str().unwrap())
        .build()
        .unwrap()
}

pub fn attach_erase_data(s: &mut elm::Session) {
    use elm::Role;
    let e = erase_dir();
    s.set_concept(0, "zephyrite").unwrap();
    s.set_concept(1, "glowmoss brewing").unwrap();
    s.attach_path(Role::Forget, 0, e.join("forget0.jsonl"), None).unwrap();
    s.attach_path(Role::Forget, 1, e.join("forget1.jsonl"), None).unwrap();
    s.attach_path(Role::Retain, 0, e.join("retain.jsonl"), None).unwrap();
    s.attach_path(Role::Retain, 1, e.join("retain.jsonl"), None).unwrap();
    s.attach_path(Role::Consistency, 0, e.join("consistency.json"), None).unwrap();
}
