use std::os::raw::c_char;
use std::path::Path;
use std::ptr;

use elm_sys as sys;

use crate::config::{cfg_ptr, Config};
use crate::error::{check, Result};
use crate::util::{borrowed, cpath, cstring, take};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatasetKind {
    Text,
    Pairs,
    Mcq,
    Other(i32),
}

/// A dataset (text records, consistency pairs, multiple-choice questions).
/// Sessions hold their own C reference and datasets are immutable once open,
/// so a Dataset may be dropped, or read on another thread, after attach.
pub struct Dataset {
    pub(crate) ptr: *mut sys::elm_dataset,
}

// SAFETY: immutable after elm_dataset_load, atomically reference counted; it
// may move between threads. Not Sync (one thread at a time per handle).
unsafe impl Send for Dataset {}

impl Dataset {
    pub fn open(path: impl AsRef<Path>, cfg: Option<&Config>) -> Result<Dataset> {
        let p = cpath(path.as_ref())?;
        let mut d = ptr::null_mut();
        check(unsafe { sys::elm_dataset_load(p.as_ptr(), cfg_ptr(cfg), &mut d) })?;
        Ok(Dataset { ptr: d })
    }

    pub fn kind(&self) -> DatasetKind {
        match unsafe { sys::elm_dataset_get_kind(self.ptr) } {
            sys::ELM_DATASET_TEXT => DatasetKind::Text,
            sys::ELM_DATASET_PAIRS => DatasetKind::Pairs,
            sys::ELM_DATASET_MCQ => DatasetKind::Mcq,
            k => DatasetKind::Other(k),
        }
    }

    pub fn len(&self) -> usize {
        unsafe { sys::elm_dataset_size(self.ptr) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn text(&self, i: usize) -> Result<String> {
        let mut t: *const c_char = ptr::null();
        check(unsafe { sys::elm_dataset_text(self.ptr, i, &mut t) })?;
        Ok(borrowed(t))
    }

    pub fn pair(&self, i: usize) -> Result<(String, String)> {
        let (mut a, mut b): (*const c_char, *const c_char) = (ptr::null(), ptr::null());
        check(unsafe { sys::elm_dataset_pair(self.ptr, i, &mut a, &mut b) })?;
        Ok((borrowed(a), borrowed(b)))
    }
}

impl Drop for Dataset {
    fn drop(&mut self) {
        unsafe { sys::elm_dataset_free(self.ptr) };
    }
}

/// The concept text of a keyword file (the authors' wmdp-keywords.json shape:
/// a list of strings, or an object of such lists): one list's keywords joined
/// by ", ". `key` names the list of an object (`None`: a bare list, or an
/// object's only list).
pub fn read_keywords(path: impl AsRef<Path>, key: Option<&str>) -> Result<String> {
    let p = cpath(path.as_ref())?;
    let k = key.map(cstring).transpose()?;
    let mut c = ptr::null_mut();
    check(unsafe { sys::elm_keywords_read(p.as_ptr(), k.as_ref().map_or(ptr::null(), |k| k.as_ptr()), &mut c) })?;
    Ok(take(c))
}
