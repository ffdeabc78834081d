use std::ops::ControlFlow;
use std::os::raw::c_void;
use std::path::Path;
use std::ptr;

use elm_sys as sys;
use sys::SizedStruct;

use crate::callback::{progress_trampoline, Progress, ProgressSlot};
use crate::config::{cfg_ptr, Config};
use crate::dataset::Dataset;
use crate::error::{check, Result};
use crate::model::Model;
use crate::util::{cpath, cstring};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Forget,
    Retain,
    Consistency,
    Train,
}

impl Role {
    fn code(self) -> sys::elm_role {
        match self {
            Role::Forget => sys::ELM_ROLE_FORGET,
            Role::Retain => sys::ELM_ROLE_RETAIN,
            Role::Consistency => sys::ELM_ROLE_CONSISTENCY,
            Role::Train => sys::ELM_ROLE_TRAIN,
        }
    }
}

/// Statistics of one optimizer step (elm_step_stats).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    pub step: i64,
    pub micro_steps: i64,
    pub loss: f64,
    pub loss_erase: f64,
    pub loss_retain: f64,
    pub loss_consistency: f64,
    pub loss_train: f64,
    pub grad_norm: f64,
    pub lr: f64,
    pub tokens: i64,
    pub seconds: f64,
}

impl StepStats {
    /// The loss line every front end prints; `{:e}`-free shortest round-trip
    /// would differ between languages, so this is C's %.9g (see fmt_g9).
    pub fn losses_line(&self) -> String {
        format!(
            "step {} loss {} erase {} retain {} consistency {}",
            self.step,
            crate::fmt_g9(self.loss),
            crate::fmt_g9(self.loss_erase),
            crate::fmt_g9(self.loss_retain),
            crate::fmt_g9(self.loss_consistency)
        )
    }
}

/// An erasure (or fine-tuning) session over a model it borrows exclusively
/// for `'m`.
///
/// The session writes its model's attached adapter ([`apply_to_model`]), so
/// it holds the `&'m mut Model` it was made from: while the session lives
/// nothing else can use, move, mutate or drop the model, on this thread or
/// another. Read the model through [`Session::model`] (e.g.
/// `elm::generate(s.model(), ..)` after `apply_to_model`); drop the session
/// to have the model back. Datasets are different: the session keeps its own
/// C reference to each one attached and datasets are immutable, so a
/// [`Dataset`] may be dropped, or used on another thread, after `attach`.
///
/// A session cannot outlive its model:
///
/// ```compile_fail,E0515
/// use elm::{Model, Session};
/// fn session() -> Session<'static> {
///     let mut model = Model::load("model", None).unwrap();
///     Session::new(&mut model, None).unwrap() // returns a value referencing a local
/// }
/// ```
///
/// nor can the model be dropped, mutated or read while the session exists:
///
/// ```compile_fail,E0505
/// use elm::{Model, Session};
/// let mut model = Model::load("model", None)?;
/// let mut s = Session::new(&mut model, None)?;
/// drop(model); // cannot move out of `model` because it is borrowed
/// s.apply_to_model()?;
/// # Ok::<(), elm::Error>(())
/// ```
///
/// ```compile_fail,E0499
/// use elm::{Model, Session};
/// let mut model = Model::load("model", None)?;
/// let mut s = Session::new(&mut model, None)?;
/// model.unload_adapter()?; // cannot borrow `model` as mutable more than once
/// s.apply_to_model()?;
/// # Ok::<(), elm::Error>(())
/// ```
///
/// ```compile_fail,E0502
/// use elm::{Model, Session};
/// let mut model = Model::load("model", None)?;
/// let mut s = Session::new(&mut model, None)?;
/// let logits = model.logits(&[1, 2, 3])?; // cannot borrow `model` as immutable
/// s.apply_to_model()?;
/// # Ok::<(), elm::Error>(())
/// ```
///
/// nor can the model be read through the session while `apply_to_model` may run:
///
/// ```compile_fail,E0502
/// use elm::{Model, Session};
/// let mut model = Model::load("model", None)?;
/// let mut s = Session::new(&mut model, None)?;
/// let m = s.model();
/// s.apply_to_model()?; // cannot borrow `s` as mutable: `m` reads the model
/// m.logits(&[1, 2, 3])?;
/// # Ok::<(), elm::Error>(())
/// ```
///
/// What does compile: reading through the session, then the model back once
/// the session is gone:
///
/// ```no_run
/// use elm::{Model, Session};
/// let mut model = Model::load("model", None)?;
/// let mut s = Session::new(&mut model, None)?;
/// s.step()?;
/// s.apply_to_model()?;
/// let after = s.model().logits(&[1, 2, 3])?;
/// drop(s);
/// model.unload_adapter()?;
/// # Ok::<(), elm::Error>(())
/// ```
///
/// [`apply_to_model`]: Session::apply_to_model
pub struct Session<'m> {
    ptr: *mut sys::elm_session,
    // Boxed so its address, given to C as the callback's `user`, never moves.
    slot: Box<ProgressSlot<'static>>,
    // The Rust handle of the C model the session was created on. Never handed
    // out as &mut (mem::swap could then put another model's handle here), so
    // nothing but this session can reach that C model while 'm lasts.
    model: &'m mut Model,
}

// SAFETY: the C session may move between threads (used by one at a time: not
// Sync). The model it writes is exclusively borrowed (`&'m mut Model` is Send
// because Model is), so no other thread can reach that model meanwhile; and
// set_progress accepts only Send closures, so the callback slot is Send.
unsafe impl Send for Session<'_> {}

impl<'m> Session<'m> {
    /// A session over `model`, borrowed exclusively for the session's life.
    pub fn new(model: &'m mut Model, cfg: Option<&Config>) -> Result<Session<'m>> {
        let mut s = ptr::null_mut();
        check(unsafe { sys::elm_session_new(model.ptr, cfg_ptr(cfg), &mut s) })?;
        let mut session = Session { ptr: s, slot: Box::new(ProgressSlot::new(None)), model };
        let user = &mut *session.slot as *mut ProgressSlot<'static> as *mut c_void;
        check(unsafe { sys::elm_session_set_progress(s, Some(progress_trampoline), user) })?;
        Ok(session)
    }

    /// The session's model, for reading (info, logits, generate, evaluation)
    /// while the session lives. Not `&mut`: the handle must stay the one the
    /// C session was made on, and the adapter changes through the session.
    pub fn model(&self) -> &Model {
        self.model
    }

    pub fn attach(&mut self, role: Role, group: i32, ds: &Dataset) -> Result<()> {
        check(unsafe { sys::elm_session_attach(self.ptr, role.code(), group, ds.ptr) })
    }

    /// Open `path` and attach it.
    pub fn attach_path(&mut self, role: Role, group: i32, path: impl AsRef<Path>, cfg: Option<&Config>) -> Result<()> {
        let ds = Dataset::open(path, cfg)?;
        self.attach(role, group, &ds)
    }

    pub fn set_concept(&mut self, group: i32, concept: &str) -> Result<()> {
        let c = cstring(concept)?;
        check(unsafe { sys::elm_session_set_concept(self.ptr, group, c.as_ptr()) })
    }

    /// Called during steps; `ControlFlow::Break(())` cancels the step
    /// (Status::Cancelled, nothing changed). A panic in it cancels the step
    /// and is resumed after the C call returns.
    pub fn set_progress<F>(&mut self, f: Option<F>)
    where
        F: FnMut(&Progress) -> ControlFlow<()> + Send + 'static,
    {
        self.slot.f = f.map(|f| Box::new(f) as Box<_>);
    }

    pub fn step(&mut self) -> Result<StepStats> {
        let mut s = sys::elm_step_stats::init();
        let code = unsafe { sys::elm_session_step(self.ptr, &mut s) };
        let r = check(code);
        self.slot.rethrow();
        r?;
        Ok(StepStats {
            step: s.step,
            micro_steps: s.micro_steps,
            loss: s.loss,
            loss_erase: s.loss_erase,
            loss_retain: s.loss_retain,
            loss_consistency: s.loss_consistency,
            loss_train: s.loss_train,
            grad_norm: s.grad_norm,
            lr: s.lr,
            tokens: s.tokens,
            seconds: s.seconds,
        })
    }

    pub fn save(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let d = cpath(dir.as_ref())?;
        check(unsafe { sys::elm_session_save(self.ptr, d.as_ptr()) })
    }

    pub fn resume(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let d = cpath(dir.as_ref())?;
        check(unsafe { sys::elm_session_resume(self.ptr, d.as_ptr()) })
    }

    pub fn save_merged(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let d = cpath(dir.as_ref())?;
        check(unsafe { sys::elm_session_save_merged(self.ptr, d.as_ptr()) })
    }

    /// Attach (a copy of) the current adapter to the session's model, freeing
    /// the one attached before. Sound because the session borrows the model
    /// exclusively and `&mut self` excludes any `&Model` from
    /// [`Session::model`]: no call reading the old adapter (logits, generate,
    /// evaluation) can be running, on any thread or in a callback.
    pub fn apply_to_model(&mut self) -> Result<()> {
        check(unsafe { sys::elm_session_apply_to_model(self.ptr) })
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        // The C session goes first; only then may the callback slot go.
        unsafe { sys::elm_session_free(self.ptr) };
    }
}
