use std::ffi::CStr;
use std::fmt;

use elm_sys as sys;

/// A status code of elm.h. Codes unknown to this crate (added later, since
/// the list is append-only) come back as `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    Invalid,
    Io,
    Format,
    Unsupported,
    NoMem,
    Device,
    Numeric,
    Cancelled,
    State,
    Internal,
    Other(i32),
}

impl Status {
    pub fn from_code(code: i32) -> Status {
        match code {
            sys::ELM_E_INVALID => Status::Invalid,
            sys::ELM_E_IO => Status::Io,
            sys::ELM_E_FORMAT => Status::Format,
            sys::ELM_E_UNSUPPORTED => Status::Unsupported,
            sys::ELM_E_NOMEM => Status::NoMem,
            sys::ELM_E_DEVICE => Status::Device,
            sys::ELM_E_NUMERIC => Status::Numeric,
            sys::ELM_E_CANCELLED => Status::Cancelled,
            sys::ELM_E_STATE => Status::State,
            sys::ELM_E_INTERNAL => Status::Internal,
            c => Status::Other(c),
        }
    }

    pub fn code(self) -> i32 {
        match self {
            Status::Invalid => sys::ELM_E_INVALID,
            Status::Io => sys::ELM_E_IO,
            Status::Format => sys::ELM_E_FORMAT,
            Status::Unsupported => sys::ELM_E_UNSUPPORTED,
            Status::NoMem => sys::ELM_E_NOMEM,
            Status::Device => sys::ELM_E_DEVICE,
            Status::Numeric => sys::ELM_E_NUMERIC,
            Status::Cancelled => sys::ELM_E_CANCELLED,
            Status::State => sys::ELM_E_STATE,
            Status::Internal => sys::ELM_E_INTERNAL,
            Status::Other(c) => c,
        }
    }

    /// The C name ("ELM_E_FORMAT"), from the library.
    pub fn name(self) -> String {
        // SAFETY: elm_status_name never returns NULL; the string is static.
        unsafe { CStr::from_ptr(sys::elm_status_name(self.code())) }.to_string_lossy().into_owned()
    }
}

/// A failed libelm call: its status and elm_last_error()'s message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

impl Error {
    pub fn new(status: Status, message: impl Into<String>) -> Error {
        Error { status, message: message.into() }
    }

    /// The error of a failed call on this thread (call right after it).
    pub(crate) fn last(code: i32) -> Error {
        // SAFETY: never NULL; valid until the next libelm call on this thread,
        // and copied before any.
        let msg = unsafe { CStr::from_ptr(sys::elm_last_error()) }.to_string_lossy().into_owned();
        Error { status: Status::from_code(code), message: msg }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn check(code: i32) -> Result<()> {
    if code == sys::ELM_OK {
        Ok(())
    } else {
        Err(Error::last(code))
    }
}
