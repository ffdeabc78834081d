use std::ops::ControlFlow;
use std::os::raw::{c_char, c_void};
use std::path::Path;
use std::ptr;

use elm_sys as sys;
use sys::SizedStruct;

use crate::callback::{progress_trampoline, token_trampoline, Progress, ProgressSlot, TokenSlot};
use crate::config::{cfg_ptr, Config};
use crate::dataset::Dataset;
use crate::error::{check, Result};
use crate::model::Model;
use crate::util::{cpath, cstring, take};

/// Continue each prompt (gen.* keys of cfg). `on_token(index, id, text)` sees
/// every token; `Break` stops generation (the text so far is returned).
pub fn generate(
    model: &Model,
    prompts: &[&str],
    cfg: Option<&Config>,
    on_token: Option<&mut dyn FnMut(usize, i32, &str) -> ControlFlow<()>>,
) -> Result<Vec<String>> {
    let owned: Vec<_> = prompts.iter().map(|p| cstring(p)).collect::<Result<_>>()?;
    let ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    let mut outputs: Vec<*mut c_char> = vec![ptr::null_mut(); prompts.len()];
    let mut slot = on_token.map(|f| TokenSlot { f: Box::new(f), panic: None, stopped: false });
    let (cb, user) = match slot.as_mut() {
        Some(s) => (Some(token_trampoline as _), s as *mut TokenSlot<'_> as *mut c_void),
        None => (None, ptr::null_mut()),
    };
    let code = unsafe {
        sys::elm_generate(model.ptr, ptrs.as_ptr(), ptrs.len(), cfg_ptr(cfg), cb, user, outputs.as_mut_ptr())
    };
    let mut r = check(code);
    let texts: Vec<String> = outputs.into_iter().map(take).collect();
    if let Some(s) = slot.as_mut() {
        if let Some(p) = s.panic.take() {
            std::panic::resume_unwind(p);
        }
        if s.stopped && code == sys::ELM_E_CANCELLED {
            r = Ok(()); // a requested stop is not an error
        }
    }
    r.map(|_| texts)
}

fn with_progress<T>(
    progress: Option<&mut dyn FnMut(&Progress) -> ControlFlow<()>>,
    call: impl FnOnce(sys::elm_progress_fn, *mut c_void) -> i32,
    done: impl FnOnce() -> T,
) -> Result<T> {
    let mut slot = ProgressSlot::new(progress.map(|f| Box::new(f) as Box<_>));
    let code = call(Some(progress_trampoline), &mut slot as *mut ProgressSlot<'_> as *mut c_void);
    let r = check(code);
    slot.rethrow();
    r.map(|_| done())
}

/// Erase-guided consistency data for every text of `forget`, into `out_path`.
pub fn prepare_consistency(
    model: &Model,
    forget: &Dataset,
    cfg: Option<&Config>,
    out_path: impl AsRef<Path>,
    progress: Option<&mut dyn FnMut(&Progress) -> ControlFlow<()>>,
) -> Result<()> {
    let p = cpath(out_path.as_ref())?;
    with_progress(
        progress,
        |f, u| unsafe { sys::elm_prepare_consistency(model.ptr, forget.ptr, cfg_ptr(cfg), p.as_ptr(), f, u) },
        || (),
    )
}

#[derive(Debug, Clone, PartialEq)]
pub struct McqResult {
    pub n: usize,
    pub n_correct: usize,
    pub accuracy: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub predicted: Vec<i32>,
    pub answers: Vec<i32>,
    pub margins: Vec<f64>,
    pub seconds: f64,
    /// Per question, one entry per choice: the sum of the choice's continuation
    /// token log-probabilities (letter_logits: its logit).
    pub loglik: Vec<Vec<f64>>,
    /// Per question, one entry per choice: continuation tokens scored.
    pub n_tokens: Vec<Vec<i32>>,
    /// argmax of loglik (lm-eval's acc); equal to `predicted` unless cloze scoring.
    pub predicted_unnormalized: Vec<i32>,
    pub n_correct_unnormalized: usize,
    pub accuracy_unnormalized: f64,
}

/// Multiple-choice accuracy on a question file (eval.mcq_scoring: loglik,
/// letter_logits, or cloze = lm-eval's acc_norm, docs/eval.md).
pub fn eval_mcq(
    model: &Model,
    path: impl AsRef<Path>,
    cfg: Option<&Config>,
    progress: Option<&mut dyn FnMut(&Progress) -> ControlFlow<()>>,
) -> Result<McqResult> {
    let p = cpath(path.as_ref())?;
    let mut out: *mut sys::elm_mcq_result = ptr::null_mut();
    let r = with_progress(
        progress,
        |f, u| unsafe { sys::elm_eval_mcq(model.ptr, p.as_ptr(), cfg_ptr(cfg), f, u, &mut out) },
        || (),
    );
    if out.is_null() {
        r?;
        return Err(crate::Error::new(crate::Status::Internal, "elm_eval_mcq returned no result"));
    }
    // SAFETY: a result from elm_eval_mcq: n entries in each array.
    let res = unsafe {
        let v = &*out;
        let arr = |p: *mut i32| if p.is_null() { vec![] } else { std::slice::from_raw_parts(p, v.n).to_vec() };
        let mut res = McqResult {
            n: v.n,
            n_correct: v.n_correct,
            accuracy: v.accuracy,
            ci_low: v.ci_low,
            ci_high: v.ci_high,
            predicted: arr(v.predicted),
            answers: arr(v.answers),
            margins: if v.margins.is_null() { vec![] } else { std::slice::from_raw_parts(v.margins, v.n).to_vec() },
            seconds: v.seconds,
            loglik: vec![],
            n_tokens: vec![],
            predicted_unnormalized: vec![],
            n_correct_unnormalized: 0,
            accuracy_unnormalized: 0.0,
        };
        if v.size as usize >= std::mem::size_of::<sys::elm_mcq_result>() && !v.loglik.is_null() && !v.n_tokens.is_null() {
            let w = v.stride;
            let ll = std::slice::from_raw_parts(v.loglik, v.n * w);
            let nt = std::slice::from_raw_parts(v.n_tokens, v.n * w);
            for i in 0..v.n {
                let k = nt[i * w..(i + 1) * w].iter().take_while(|&&t| t > 0).count();
                res.loglik.push(ll[i * w..i * w + k].to_vec());
                res.n_tokens.push(nt[i * w..i * w + k].to_vec());
            }
            res.predicted_unnormalized = arr(v.predicted_unnormalized);
            res.n_correct_unnormalized = v.n_correct_unnormalized;
            res.accuracy_unnormalized = v.accuracy_unnormalized;
        }
        res
    };
    unsafe { sys::elm_mcq_result_free(out) };
    r.map(|_| res)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PplResult {
    pub perplexity: f64,
    pub nll: f64,
    pub n_tokens: i64,
    pub seconds: f64,
}

fn ppl(r: &sys::elm_ppl_result) -> PplResult {
    PplResult { perplexity: r.perplexity, nll: r.nll, n_tokens: r.n_tokens, seconds: r.seconds }
}

/// Token-level perplexity of a text dataset.
pub fn eval_perplexity(
    model: &Model,
    ds: &Dataset,
    cfg: Option<&Config>,
    progress: Option<&mut dyn FnMut(&Progress) -> ControlFlow<()>>,
) -> Result<PplResult> {
    let mut out = sys::elm_ppl_result::init();
    with_progress(
        progress,
        |f, u| unsafe { sys::elm_eval_perplexity(model.ptr, ds.ptr, cfg_ptr(cfg), f, u, &mut out) },
        || (),
    )?;
    Ok(ppl(&out))
}

/// `generator` continues each prompt, `scorer` scores the text.
pub fn eval_reverse_perplexity(
    generator: &Model,
    scorer: &Model,
    prompts: &Dataset,
    cfg: Option<&Config>,
    progress: Option<&mut dyn FnMut(&Progress) -> ControlFlow<()>>,
) -> Result<PplResult> {
    let mut out = sys::elm_ppl_result::init();
    with_progress(
        progress,
        |f, u| unsafe {
            sys::elm_eval_reverse_perplexity(generator.ptr, scorer.ptr, prompts.ptr, cfg_ptr(cfg), f, u, &mut out)
        },
        || (),
    )?;
    Ok(ppl(&out))
}
