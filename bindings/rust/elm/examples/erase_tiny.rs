//! Erase a concept from the tiny fixture model, end to end: load, datasets,
//! session, 3 steps printing losses, save the adapter, generate before/after.
//! The same run as examples/c/erase_tiny.c and examples/python/erase_tiny.py;
//! its "step" lines are identical to theirs (examples/check-identical.sh).
//!
//!   cargo run --example erase_tiny [-- REPO_ROOT [OUT_DIR]]

use std::path::PathBuf;

use elm::{ConfigBuilder, Model, Role, Session};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = args.next().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.."));
    let out = args.next().map(PathBuf::from).unwrap_or_else(|| std::env::temp_dir().join("elm-erase-tiny-rust"));
    elm::check_version()?;
    let model_dir = root.join("tests/fixtures/models/llama-tied");
    let data = root.join("tests/fixtures/erase");
    let path = |name: &str| data.join(name).to_string_lossy().into_owned();

    // The configuration every front end uses for this example (CPU, fp32).
    let cfg = ConfigBuilder::new()
        .set("runtime.device", "cpu")
        .set("runtime.dtype", "float32")
        .set("runtime.threads", 1)
        .set("runtime.seed", 1234)
        .set("lora.rank", 4)
        .set("lora.alpha", 8.0)
        .set("lora.dropout", 0.0)
        .set("lora.layers", "4-7")
        .set("lora.init_from", path("golden_concat/init_adapter"))
        .set("erase.eta", 4.0)
        .set("erase.template_choice", "cycle")
        .set("erase.expert_templates", path("expert.txt"))
        .set("erase.novice_templates", path("novice.txt"))
        .set("erase.mix", "0,0,1")
        .set("optim.accum", 2)
        .set("optim.lr", 1e-3)
        .set("optim.schedule", "cosine")
        .set("optim.steps", 3)
        .set("optim.warmup", 1)
        .set("gen.max_new_tokens", 16)
        .build()?;

    let mut model = Model::load(&model_dir, Some(&cfg))?;
    let info = model.info()?;
    println!("model {} layers {} vocab {}", info.architecture, info.n_layers, info.n_vocab);

    let prompt = "Zephyrite is";
    let before = elm::generate(&model, &[prompt], Some(&cfg), None)?;
    println!("before: \"{}\"", before[0]);

    // The session borrows the model exclusively until it is dropped.
    let mut s = Session::new(&mut model, Some(&cfg))?;
    s.set_concept(0, "zephyrite")?;
    s.set_concept(1, "glowmoss brewing")?;
    s.attach_path(Role::Forget, 0, path("forget0.jsonl"), Some(&cfg))?;
    s.attach_path(Role::Forget, 1, path("forget1.jsonl"), Some(&cfg))?;
    s.attach_path(Role::Retain, 0, path("retain.jsonl"), Some(&cfg))?;
    s.attach_path(Role::Retain, 1, path("retain.jsonl"), Some(&cfg))?;
    s.attach_path(Role::Consistency, 0, path("consistency.json"), Some(&cfg))?;
    for _ in 0..3 {
        println!("{}", s.step()?.losses_line());
    }
    s.save(&out)?;
    println!("adapter saved to {}", out.display());

    s.apply_to_model()?;
    let after = elm::generate(s.model(), &[prompt], Some(&cfg), None)?;
    println!("after: \"{}\"", after[0]);
    Ok(())
}
