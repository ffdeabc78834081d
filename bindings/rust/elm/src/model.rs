use std::os::raw::c_char;
use std::path::Path;
use std::ptr;

use elm_sys as sys;
use sys::SizedStruct;

use crate::config::{cfg_ptr, Config};
use crate::error::{check, Result};
use crate::util::{borrowed, cpath, cstring, take};

/// elm_model_info, with owned strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub architecture: String,
    pub dtype: String,
    pub device: String,
    pub n_layers: i32,
    pub n_embd: i32,
    pub n_heads: i32,
    pub n_kv_heads: i32,
    pub head_dim: i32,
    pub n_ff: i32,
    pub n_vocab: i32,
    pub n_ctx: i32,
    pub n_params: i64,
    pub tied_embeddings: bool,
    pub has_adapter: bool,
    /// dtype(s) of the weights in the file: "F32", "BF16", "F32+Q4_1+Q8_0".
    pub source_dtype: String,
}

/// A loaded causal LM.
///
/// Its base weights never change; its attached adapter does. Calls that read
/// the adapter (`info`, `logits`, `generate`, the evaluations) take `&self`,
/// calls that replace or free it (`load_adapter`, `unload_adapter`, and
/// [`Session::apply_to_model`](crate::Session::apply_to_model) through the
/// `&mut Model` a session borrows) need exclusive access, so the borrow
/// checker keeps a reader and a writer of the adapter from ever overlapping.
/// `Send`, not `Sync`: a `&Model` never reaches a second thread, so two
/// threads never call into one model at once.
pub struct Model {
    pub(crate) ptr: *mut sys::elm_model,
}

// SAFETY: the C model may move between threads. Not Sync: libelm handles are
// used by one thread at a time, and &self calls read the adapter that &mut
// self calls (and sessions, which hold &mut Model) replace.
unsafe impl Send for Model {}

impl Model {
    /// Load an HF model directory or a GGUF file (cfg: runtime.* keys).
    pub fn load(path: impl AsRef<Path>, cfg: Option<&Config>) -> Result<Model> {
        let p = cpath(path.as_ref())?;
        let mut m = ptr::null_mut();
        check(unsafe { sys::elm_model_load(p.as_ptr(), cfg_ptr(cfg), &mut m) })?;
        Ok(Model { ptr: m })
    }

    pub fn info(&self) -> Result<ModelInfo> {
        let mut i = sys::elm_model_info::init();
        check(unsafe { sys::elm_model_get_info(self.ptr, &mut i) })?;
        Ok(ModelInfo {
            architecture: borrowed(i.architecture),
            dtype: borrowed(i.dtype),
            device: borrowed(i.device),
            n_layers: i.n_layers,
            n_embd: i.n_embd,
            n_heads: i.n_heads,
            n_kv_heads: i.n_kv_heads,
            head_dim: i.head_dim,
            n_ff: i.n_ff,
            n_vocab: i.n_vocab,
            n_ctx: i.n_ctx,
            n_params: i.n_params,
            tied_embeddings: i.tied_embeddings != 0,
            has_adapter: i.has_adapter != 0,
            source_dtype: borrowed(i.source_dtype),
        })
    }

    /// Logits of one sequence: ids.len() × n_vocab floats, row after row.
    pub fn logits(&self, ids: &[i32]) -> Result<Vec<f32>> {
        Ok(self.logits_batch(&[ids])?.pop().unwrap_or_default())
    }

    /// Logits of several sequences, one Vec (len × n_vocab) each.
    pub fn logits_batch(&self, seqs: &[&[i32]]) -> Result<Vec<Vec<f32>>> {
        let n_vocab = self.info()?.n_vocab as usize;
        let lens: Vec<usize> = seqs.iter().map(|s| s.len()).collect();
        let flat: Vec<i32> = seqs.iter().flat_map(|s| s.iter().copied()).collect();
        let total: usize = lens.iter().sum();
        let mut out = vec![0f32; total * n_vocab];
        check(unsafe { sys::elm_model_logits(self.ptr, flat.as_ptr(), lens.as_ptr(), seqs.len(), out.as_mut_ptr()) })?;
        let mut res = Vec::with_capacity(seqs.len());
        let mut start = 0;
        for n in lens {
            res.push(out[start * n_vocab..(start + n) * n_vocab].to_vec());
            start += n;
        }
        Ok(res)
    }

    /// The model's own tokenizer (a new reference).
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let mut t = ptr::null_mut();
        check(unsafe { sys::elm_model_tokenizer(self.ptr, &mut t) })?;
        Ok(Tokenizer { ptr: t })
    }

    /// Attach a PEFT LoRA adapter directory (replaces any attached one).
    pub fn load_adapter(&mut self, dir: impl AsRef<Path>) -> Result<()> {
        let d = cpath(dir.as_ref())?;
        check(unsafe { sys::elm_model_load_adapter(self.ptr, d.as_ptr()) })
    }

    pub fn unload_adapter(&mut self) -> Result<()> {
        check(unsafe { sys::elm_model_unload_adapter(self.ptr) })
    }

    pub fn as_ptr(&self) -> *mut sys::elm_model {
        self.ptr
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { sys::elm_model_free(self.ptr) };
    }
}

/// A tokenizer (its own C reference: independent of, and may outlive, the
/// model it came from; the C tokenizer is immutable, so a model and its
/// tokenizer may be used on different threads at once).
pub struct Tokenizer {
    ptr: *mut sys::elm_tokenizer,
}

// SAFETY: an immutable C object (its word cache has its own lock) under an
// atomic reference count; it may move between threads. Not Sync, by the rule
// of every libelm handle (one thread at a time).
unsafe impl Send for Tokenizer {}

impl Tokenizer {
    pub fn load(path: impl AsRef<Path>, cfg: Option<&Config>) -> Result<Tokenizer> {
        let p = cpath(path.as_ref())?;
        let mut t = ptr::null_mut();
        check(unsafe { sys::elm_tokenizer_load(p.as_ptr(), cfg_ptr(cfg), &mut t) })?;
        Ok(Tokenizer { ptr: t })
    }

    pub fn encode(&self, text: &str, add_special: bool) -> Result<Vec<i32>> {
        let flags = if add_special { sys::ELM_TOKENIZE_ADD_SPECIAL } else { 0 };
        let mut ids: *mut i32 = ptr::null_mut();
        let mut n = 0usize;
        check(unsafe {
            sys::elm_tokenizer_encode(self.ptr, text.as_ptr() as *const c_char, text.len(), flags, &mut ids, &mut n)
        })?;
        let v = if ids.is_null() { vec![] } else { unsafe { std::slice::from_raw_parts(ids, n) }.to_vec() };
        unsafe { sys::elm_free(ids.cast()) };
        Ok(v)
    }

    pub fn decode(&self, ids: &[i32], skip_special: bool) -> Result<String> {
        let flags = if skip_special { sys::ELM_DETOKENIZE_SKIP_SPECIAL } else { 0 };
        let mut s: *mut c_char = ptr::null_mut();
        check(unsafe { sys::elm_tokenizer_decode(self.ptr, ids.as_ptr(), ids.len(), flags, &mut s) })?;
        Ok(take(s))
    }

    pub fn vocab_size(&self) -> i32 {
        unsafe { sys::elm_tokenizer_vocab_size(self.ptr) }
    }

    /// Id of a special token (elm_sys::ELM_TOKEN_*), None if absent.
    pub fn special(&self, which: sys::elm_special_token) -> Option<i32> {
        let v = unsafe { sys::elm_tokenizer_special(self.ptr, which) };
        (v >= 0).then_some(v)
    }

    /// Apply the chat template to (role, content) messages.
    pub fn chat(&self, messages: &[(&str, &str)], add_generation_prompt: bool, cfg: Option<&Config>) -> Result<String> {
        let owned: Vec<_> = messages.iter().map(|(r, c)| Ok((cstring(r)?, cstring(c)?))).collect::<Result<_>>()?;
        let msgs: Vec<sys::elm_chat_message> =
            owned.iter().map(|(r, c)| sys::elm_chat_message { role: r.as_ptr(), content: c.as_ptr() }).collect();
        let mut out: *mut c_char = ptr::null_mut();
        check(unsafe {
            sys::elm_tokenizer_apply_chat(self.ptr, msgs.as_ptr(), msgs.len(), add_generation_prompt as i32, cfg_ptr(cfg), &mut out)
        })?;
        Ok(take(out))
    }
}

impl Drop for Tokenizer {
    fn drop(&mut self) {
        unsafe { sys::elm_tokenizer_free(self.ptr) };
    }
}
