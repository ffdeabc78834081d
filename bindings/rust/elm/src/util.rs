use std::ffi::{CStr, CString};
use std::os::raw::c_char;
use std::path::Path;

use elm_sys as sys;

use crate::error::{Error, Result, Status};

pub(crate) fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::new(Status::Invalid, format!("string contains a NUL byte: {s:?}")))
}

pub(crate) fn cpath(p: &Path) -> Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| Error::new(Status::Invalid, format!("path contains a NUL byte: {}", p.display())))
}

/// A borrowed C string as an owned String ("" for NULL).
pub(crate) fn borrowed(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: libelm returns NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// A libelm-allocated string, copied and freed with elm_free.
pub(crate) fn take(p: *mut c_char) -> String {
    let s = borrowed(p);
    if !p.is_null() {
        // SAFETY: allocated by libelm for the caller.
        unsafe { sys::elm_free(p.cast()) };
    }
    s
}
