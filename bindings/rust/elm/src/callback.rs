//! Trampolines from C callbacks into Rust closures. A closure's panic is
//! caught (it must not unwind into C), stops the C call (non-zero return),
//! and is resumed once the call has returned.

use std::any::Any;
use std::ops::ControlFlow;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use elm_sys as sys;

use crate::util::borrowed;

/// Progress of long work (elm_progress).
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub what: String,
    pub done: u64,
    pub total: u64,
    pub seconds: f64,
    pub detail: Option<String>,
}

impl Progress {
    fn from_c(p: &sys::elm_progress) -> Progress {
        Progress {
            what: borrowed(p.what),
            done: p.done,
            total: p.total,
            seconds: p.seconds,
            detail: if p.detail.is_null() { None } else { Some(borrowed(p.detail)) },
        }
    }
}

pub type ProgressFn<'a> = dyn FnMut(&Progress) -> ControlFlow<()> + 'a;
pub type TokenFn<'a> = dyn FnMut(usize, i32, &str) -> ControlFlow<()> + 'a;

pub(crate) struct ProgressSlot<'a> {
    pub f: Option<Box<ProgressFn<'a>>>,
    pub panic: Option<Box<dyn Any + Send>>,
}

impl<'a> ProgressSlot<'a> {
    pub fn new(f: Option<Box<ProgressFn<'a>>>) -> Self {
        ProgressSlot { f, panic: None }
    }

    /// After the C call: resume a caught panic.
    pub fn rethrow(&mut self) {
        if let Some(p) = self.panic.take() {
            resume_unwind(p);
        }
    }
}

pub(crate) unsafe extern "C" fn progress_trampoline(p: *const sys::elm_progress, user: *mut c_void) -> c_int {
    if user.is_null() || p.is_null() {
        return 0;
    }
    // SAFETY: `user` is the ProgressSlot the caller passed with this function,
    // alive and not otherwise borrowed for the duration of the C call.
    let slot = &mut *(user as *mut ProgressSlot<'_>);
    if slot.panic.is_some() {
        return 1;
    }
    let Some(f) = slot.f.as_mut() else { return 0 };
    let pr = Progress::from_c(&*p);
    match catch_unwind(AssertUnwindSafe(|| f(&pr))) {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => 1,
        Err(e) => {
            slot.panic = Some(e);
            1
        }
    }
}

pub(crate) struct TokenSlot<'a> {
    pub f: Box<TokenFn<'a>>,
    pub panic: Option<Box<dyn Any + Send>>,
    pub stopped: bool,
}

pub(crate) unsafe extern "C" fn token_trampoline(index: usize, id: i32, text: *const c_char, user: *mut c_void) -> c_int {
    if user.is_null() {
        return 0;
    }
    // SAFETY: as for progress_trampoline.
    let slot = &mut *(user as *mut TokenSlot<'_>);
    if slot.panic.is_some() || slot.stopped {
        return 1;
    }
    let t = borrowed(text);
    match catch_unwind(AssertUnwindSafe(|| (slot.f)(index, id, &t))) {
        Ok(ControlFlow::Continue(())) => 0,
        Ok(ControlFlow::Break(())) => {
            slot.stopped = true;
            1
        }
        Err(e) => {
            slot.panic = Some(e);
            1
        }
    }
}

// ---------------------------------------------------------------------------
// Logging (process-wide)
// ---------------------------------------------------------------------------

type LogFn = dyn Fn(i32, &str) + Send + Sync;

static LOGGER: std::sync::Mutex<Vec<&'static LogFn>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn log_trampoline(level: c_int, message: *const c_char, user: *mut c_void) {
    // SAFETY: `user` is a leaked &'static LogFn (see set_log_callback).
    let f = &**(user as *const &'static LogFn);
    let m = borrowed(message);
    let _ = catch_unwind(AssertUnwindSafe(|| f(level, &m))); // a panic is dropped, never unwound into C
}

/// Install a process-wide log callback `f(level, message)` (levels as
/// elm_sys::ELM_LOG_*), or discard messages with `None`. The closure is kept
/// for the life of the process: another thread may still be inside it.
pub fn set_log_callback(f: Option<Box<LogFn>>, max_level: i32) {
    let mut keep = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    match f {
        None => unsafe { sys::elm_set_log_callback(None, std::ptr::null_mut(), max_level) },
        Some(f) => {
            let f: &'static LogFn = Box::leak(f);
            let holder: &'static &'static LogFn = Box::leak(Box::new(f));
            keep.push(f);
            unsafe {
                sys::elm_set_log_callback(
                    Some(log_trampoline),
                    holder as *const &'static LogFn as *mut c_void,
                    max_level,
                )
            };
        }
    }
}
