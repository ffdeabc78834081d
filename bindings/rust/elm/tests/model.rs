//! Model, sessions, callbacks: need the model, session and generate layers.

mod common;

use std::ops::ControlFlow;

use common::*;
use elm::{Model, Session, Status};

fn model() -> Model {
    Model::load(model_dir(), Some(&erase_config())).unwrap()
}

#[test]
fn info_and_logits() {
    let mut m = model();
    let info = m.info().unwrap();
    assert_eq!(info.n_vocab, 512);
    assert_eq!(info.n_layers, 8);
    assert_eq!(info.source_dtype, "F32"); // fp32 safetensors fixture
    let tok = m.tokenizer().unwrap();
    let ids = tok.encode("Zephyrite hums.", true).unwrap();
    assert_eq!(tok.decode(&ids, true).unwrap(), "Zephyrite hums.");
    let a = m.logits(&ids).unwrap();
    assert_eq!(a.len(), ids.len() * 512);
    let b = m.logits_batch(&[&ids, &ids[..2]]).unwrap();
    assert_eq!(b[0], a);
    assert_eq!(b[1].len(), 2 * 512);
    drop(m);
    // the tokenizer holds its own reference
    assert_eq!(tok.vocab_size(), 512);
}

#[test]
fn model_load_error() {
    let e = Model::load("/nonexistent/dir", None).err().unwrap();
    assert!(matches!(e.status, Status::Io | Status::Format), "{e}");
    assert!(e.message.contains("/nonexistent/dir"), "{e}");
}

#[test]
fn three_step_erasure_after_dropping_model() {
    let m = model();
    let mut s = Session::new(&m, Some(&erase_config())).unwrap();
    drop(m); // the session keeps its own reference
    attach_erase_data(&mut s);
    let mut last = 0;
    for _ in 0..3 {
        let st = s.step().unwrap();
        assert!(st.loss.is_finite() && st.loss_erase.is_finite());
        assert_eq!(st.step, last + 1);
        last = st.step;
        assert!(st.losses_line().starts_with("step "));
    }
    let dir = std::env::temp_dir().join(format!("elm-rust-test-{}", std::process::id()));
    s.save(&dir).unwrap();
    assert!(dir.join("adapter_config.json").exists());
    assert!(dir.join("adapter_model.safetensors").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn session_moves_to_another_thread() {
    let m = model();
    let mut s = Session::new(&m, Some(&erase_config())).unwrap();
    attach_erase_data(&mut s);
    let (s, st) = std::thread::spawn(move || {
        let st = s.step().map(|x| x.step);
        (s, st)
    })
    .join()
    .unwrap();
    assert_eq!(st.unwrap(), 1);
    drop(s);
}

#[test]
fn progress_break_cancels_and_panic_is_resumed() {
    let m = model();
    let mut s = Session::new(&m, Some(&erase_config())).unwrap();
    attach_erase_data(&mut s);
    s.set_progress(Some(|_: &elm::Progress| ControlFlow::Break(())));
    let e = s.step().err().unwrap();
    assert_eq!(e.status, Status::Cancelled);

    s.set_progress(Some(|_: &elm::Progress| -> ControlFlow<()> { panic!("in the callback") }));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.step()));
    assert!(caught.is_err(), "the panic must come back out of step()");

    s.set_progress(None::<fn(&elm::Progress) -> ControlFlow<()>>);
    assert_eq!(s.step().unwrap().step, 1, "cancelled steps change nothing");
}

#[test]
fn generate_with_token_callback() {
    let mut m = model();
    let cfg = elm::ConfigBuilder::new().set("gen.max_new_tokens", 5).build().unwrap();
    let mut seen = String::new();
    let mut on = |_i: usize, _id: i32, t: &str| {
        seen.push_str(t);
        ControlFlow::Continue(())
    };
    let out = elm::generate(&mut m, &["Zephyrite is"], Some(&cfg), Some(&mut on)).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0], seen);
    let again = elm::generate(&mut m, &["Zephyrite is"], Some(&cfg), None).unwrap();
    assert_eq!(again, out, "greedy is deterministic");
}
