//! Safe Rust API of libelm: erase a concept from a causal language model
//! with ELM (a LoRA adapter trained against an erase objective).
//!
//! Handles own their C object and free it on Drop. Fallible calls return
//! `Result<T, elm::Error>` with the status and libelm's message. Callbacks
//! never unwind into C: a panic is caught, cancels the C call, and is resumed
//! after it returns.
//!
//! ```no_run
//! use elm::{ConfigBuilder, Model, Role, Session};
//! let cfg = ConfigBuilder::new().set("lora.rank", 4).set("erase.concept", "zephyrite").build()?;
//! let mut model = Model::load("tests/fixtures/models/llama-tied", Some(&cfg))?;
//! let mut s = Session::new(&mut model, Some(&cfg))?;
//! s.attach_path(Role::Forget, 0, "forget.jsonl", None)?;
//! s.attach_path(Role::Retain, 0, "retain.jsonl", None)?;
//! for _ in 0..3 { println!("{}", s.step()?.losses_line()); }
//! s.save("adapter")?;
//! s.apply_to_model()?;
//! let after = elm::generate(s.model(), &["Zephyrite is"], Some(&cfg), None)?;
//! drop(s); // the model is free again
//! # Ok::<(), elm::Error>(())
//! ```
//!
//! # Threads and borrows
//!
//! libelm lets a handle move between threads but never be used by two at
//! once; the types say so, and the borrow checker enforces the rest:
//!
//! - [`Model`], [`Tokenizer`], [`Dataset`], [`Config`] and [`Session`] are
//!   `Send` and not `Sync`: move one to a thread (or lend `&mut` to a scoped
//!   thread), never share `&` across threads:
//!
//!   ```compile_fail,E0277
//!   let model = elm::Model::load("model", None)?;
//!   std::thread::scope(|t| {
//!       t.spawn(|| model.logits(&[1, 2, 3])); // `*mut elm_model` cannot be shared between threads safely
//!       model.logits(&[1, 2, 3])
//!   })?;
//!   # Ok::<(), elm::Error>(())
//!   ```
//! - A model's attached adapter is its one mutable part. Calls that read it
//!   take `&Model`; calls that replace or free it take `&mut Model`
//!   ([`Model::load_adapter`], [`Model::unload_adapter`]) or go through a
//!   session, which borrows its model as `&mut` for its whole life
//!   (`Session<'m>`), so [`Session::apply_to_model`] can never free an adapter
//!   that a `logits` or `generate` call elsewhere is reading. While a session
//!   lives, read its model through [`Session::model`]; the session cannot
//!   outlive the model, and the model cannot be dropped, moved or mutated
//!   until the session is (compile-fail examples on [`Session`]). One model
//!   therefore has one session at a time; load it twice for two.
//! - Tokenizers and datasets are immutable C objects with their own
//!   reference counts: the tokenizer from [`Model::tokenizer`] is independent
//!   of its model (it may outlive it, or be used on another thread while the
//!   model works), and a dataset may be dropped or read elsewhere once
//!   attached (the session holds its own reference). Configs are copied by
//!   the calls that take them.
//! - Callbacks run on the thread that made the call. A session's progress
//!   callback must be `Send + 'static` (it goes wherever the session goes);
//!   those of the one-shot calls (`generate`, the evaluations) are borrowed
//!   for the call only. The log callback ([`set_log_callback`]) is
//!   process-wide, may be called from any thread, and must be `Send + Sync`.

mod callback;
mod config;
mod dataset;
mod error;
mod model;
mod ops;
mod session;
mod util;

pub use elm_sys as sys;

pub use callback::{set_log_callback, Progress};
pub use config::{find_key, keys, Config, ConfigBuilder, KeyInfo, KeyType, Value};
pub use dataset::{read_keywords, Dataset, DatasetKind};
pub use error::{Error, Result, Status};
pub use model::{Model, ModelInfo, Tokenizer};
pub use ops::{eval_mcq, eval_perplexity, eval_reverse_perplexity, generate, prepare_consistency, McqResult, PplResult};
pub use session::{Role, Session, StepStats};

use std::ffi::CStr;

/// The library's version as (major, minor, patch).
pub fn version() -> (i32, i32, i32) {
    let v = unsafe { sys::elm_version() };
    (v / 10000, (v / 100) % 100, v % 100)
}

pub fn version_string() -> String {
    unsafe { CStr::from_ptr(sys::elm_version_string()) }.to_string_lossy().into_owned()
}

/// Err(Status::Unsupported) if the library's major version differs from
/// the one these bindings were written for.
pub fn check_version() -> Result<()> {
    let (major, minor, patch) = version();
    if major != sys::ELM_VERSION_MAJOR {
        return Err(Error::new(
            Status::Unsupported,
            format!("libelm {major}.{minor}.{patch} loaded; these bindings need {}.x", sys::ELM_VERSION_MAJOR),
        ));
    }
    Ok(())
}

pub fn cuda_available() -> bool {
    unsafe { sys::elm_cuda_available() != 0 }
}

pub fn set_num_threads(n: i32) -> Result<()> {
    error::check(unsafe { sys::elm_set_num_threads(n) })
}

pub fn get_num_threads() -> i32 {
    unsafe { sys::elm_get_num_threads() }
}

/// C's printf("%.9g", x): the loss format shared by the C, Python and Rust
/// examples (9 significant digits; enough to tell fp32 values apart).
pub fn fmt_g9(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    const P: i32 = 9;
    // exponent after rounding to P significant digits
    let sci = format!("{:.*e}", (P - 1) as usize, x);
    let (mant, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    let strip = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if exp < -4 || exp >= P {
        let m = strip(mant.to_string());
        format!("{}e{}{:02}", m, if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        strip(format!("{:.*}", (P - 1 - exp) as usize, x))
    }
}
