//! The baseline objectives (erase.objective rmu, grad_diff, npo) through the
//! crate: the golden_grad_diff run's first step gives the mean of the
//! reference's first two micro-step losses (tests/fixtures/erase, 1e-5
//! relative), every objective trains and saves an adapter, and a consistency
//! dataset is refused naming the objective.

mod common;

use common::*;
use elm::{ConfigBuilder, Model, Role, Session, Status};

fn config(obj: &str) -> elm::Config {
    let e = erase_dir();
    let mut b = ConfigBuilder::new();
    for (k, v) in [
        ("runtime.device", "cpu"),
        ("runtime.dtype", "float32"),
        ("runtime.threads", "1"),
        ("runtime.seed", "1234"),
        ("data.min_chars", "50"),
        ("data.max_chars", "700"),
        ("lora.dropout", "0"),
        ("erase.objective", obj),
        ("erase.mix", "0,0,1"),
        ("optim.accum", "2"),
        ("optim.lr", "1e-3"),
        ("optim.schedule", "cosine"),
        ("optim.steps", "3"),
        ("optim.warmup", "1"),
        ("optim.weight_decay", "0.01"),
        ("erase.rmu_layer", "6"),
        ("erase.rmu_alpha", "10"),
        ("erase.lambda_retain", if obj == "grad_diff" { "0.5" } else { "1" }),
        ("optim.clip", if obj == "grad_diff" { "1" } else { "0" }),
        ("erase.max_tokens", if obj == "npo" { "40" } else { "0" }),
    ] {
        b = b.set(k, v);
    }
    let init = e.join(format!("golden_{obj}/init_adapter"));
    b.set("lora.init_from", init.to_str().unwrap()).build().unwrap()
}

fn session<'m>(m: &'m mut Model, obj: &str) -> Session<'m> {
    let e = erase_dir();
    let mut s = Session::new(m, Some(&config(obj))).unwrap();
    s.attach_path(Role::Forget, 0, e.join("forget0.jsonl"), None).unwrap();
    s.attach_path(Role::Forget, 1, e.join("forget1.jsonl"), None).unwrap();
    s.attach_path(Role::Retain, 0, e.join("retain.jsonl"), None).unwrap();
    s.attach_path(Role::Retain, 1, e.join("retain.jsonl"), None).unwrap();
    s
}

/// F64 tensor `name` of a safetensors file.
fn f64s(path: &std::path::Path, name: &str) -> Vec<f64> {
    let data = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(data[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&data[8..8 + n]).unwrap();
    let at = header.find(&format!("\"{name}\"")).unwrap();
    let offs = &header[at..];
    let o = offs.find("data_offsets").unwrap();
    let nums: Vec<usize> = offs[o..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .take(2)
        .map(|t| t.parse().unwrap())
        .collect();
    data[8 + n + nums[0]..8 + n + nums[1]]
        .chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn grad_diff_first_step_matches_reference() {
    let mut m = Model::load(model_dir(), Some(&config("grad_diff"))).unwrap();
    let mut s = session(&mut m, "grad_diff");
    let st = s.step().unwrap();
    let losses = erase_dir().join("golden_grad_diff/losses.safetensors");
    for (got, name) in [(st.loss_erase, "loss_erase"), (st.loss_retain, "loss_retain")] {
        let v = f64s(&losses, name);
        let want = (v[0] + v[1]) / 2.0;
        assert!((got - want).abs() <= 1e-5 * want.abs(), "{name}: {got} vs {want}");
    }
}

#[test]
fn every_baseline_trains_and_refuses_consistency() {
    for obj in ["rmu", "grad_diff", "npo"] {
        let mut m = Model::load(model_dir(), Some(&config(obj))).unwrap();
        let mut s = session(&mut m, obj);
        let st = s.step().unwrap();
        assert!(st.loss.is_finite() && st.loss_erase.is_finite() && st.loss_retain.is_finite(), "{obj}");
        let e = s.attach_path(Role::Consistency, 0, erase_dir().join("consistency.json"), None).err().unwrap();
        assert_eq!(e.status, Status::Invalid, "{obj}: {e}");
        assert!(e.message.contains(&format!("erase.objective {obj}")), "{e}");
        let dir = std::env::temp_dir().join(format!("elm-rust-baseline-{obj}-{}", std::process::id()));
        s.save(&dir).unwrap();
        assert!(dir.join("adapter_model.safetensors").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
