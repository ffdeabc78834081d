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
    let m = model();
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
fn three_step_erasure_then_the_model_back() {
    let mut m = model();
    let ids = m.tokenizer().unwrap().encode("Zephyrite hums.", true).unwrap();
    let before = m.logits(&ids).unwrap();
    let mut s = Session::new(&mut m, Some(&erase_config())).unwrap();
    attach_erase_data(&mut s); // opens and drops each dataset: the session keeps its own reference
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

    // The model is read through the session while it lives ...
    assert!(!s.model().info().unwrap().has_adapter);
    assert_eq!(s.model().logits(&ids).unwrap(), before, "steps do not touch the model");
    s.apply_to_model().unwrap();
    assert!(s.model().info().unwrap().has_adapter);
    let after = s.model().logits(&ids).unwrap();
    assert_ne!(after, before, "the trained adapter changes the logits");
    drop(s);
    // ... and is the caller's again once it is gone.
    assert_eq!(m.logits(&ids).unwrap(), after);
    m.unload_adapter().unwrap();
    assert_eq!(m.logits(&ids).unwrap(), before);
}

#[test]
fn session_moves_to_another_thread() {
    let mut m = model();
    let mut s = Session::new(&mut m, Some(&erase_config())).unwrap();
    attach_erase_data(&mut s);
    // The session borrows the model, so it goes to a scoped thread.
    let (s, st) = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let st = s.step().map(|x| x.step);
                (s, st)
            })
            .join()
            .unwrap()
    });
    assert_eq!(st.unwrap(), 1);
    drop(s);
    assert!(m.info().is_ok());
}

#[test]
fn tokenizer_and_dataset_work_beside_a_stepping_session() {
    // Both are independent immutable C objects: usable on this thread while
    // the session (which holds the model and a reference to the dataset)
    // steps on another.
    let mut m = model();
    let tok = m.tokenizer().unwrap();
    let ds = elm::Dataset::open(erase_dir().join("forget0.jsonl"), None).unwrap();
    let mut s = Session::new(&mut m, Some(&erase_config())).unwrap();
    attach_erase_data(&mut s);
    s.attach(elm::Role::Forget, 0, &ds).unwrap();
    let first = ds.text(0).unwrap();
    std::thread::scope(|scope| {
        let h = scope.spawn(|| {
            for _ in 0..2 {
                s.step().unwrap();
            }
        });
        for _ in 0..50 {
            let ids = tok.encode(&first, false).unwrap();
            assert_eq!(tok.decode(&ids, false).unwrap(), first);
            assert_eq!(ds.text(0).unwrap(), first);
        }
        h.join().unwrap();
    });
    drop(s);
    drop(m);
    assert!(tok.vocab_size() > 0, "the tokenizer outlives its model");
}

#[test]
fn progress_break_cancels_and_panic_is_resumed() {
    let mut m = model();
    let mut s = Session::new(&mut m, Some(&erase_config())).unwrap();
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
    let m = model();
    let cfg = elm::ConfigBuilder::new().set("gen.max_new_tokens", 5).build().unwrap();
    let mut seen = String::new();
    let mut on = |_i: usize, _id: i32, t: &str| {
        seen.push_str(t);
        ControlFlow::Continue(())
    };
    let out = elm::generate(&m, &["Zephyrite is"], Some(&cfg), Some(&mut on)).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0], seen);
    let again = elm::generate(&m, &["Zephyrite is"], Some(&cfg), None).unwrap();
    assert_eq!(again, out, "greedy is deterministic");
}
