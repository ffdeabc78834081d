use std::os::raw::c_char;
use std::ptr;

use elm_sys as sys;
use sys::SizedStruct;

use crate::error::{check, Error, Result, Status};
use crate::util::{borrowed, cstring, take};

/// A value for a configuration key; the schema decides how it is set.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Double(f64),
    Bool(bool),
    /// A string key's value, or text parsed by the key's type ("1e-4", "true").
    Text(String),
}

macro_rules! value_from {
    ($($t:ty => $v:ident as $c:ty),*) => {$(
        impl From<$t> for Value { fn from(x: $t) -> Value { Value::$v(x as $c) } }
    )*};
}
value_from!(i32 => Int as i64, i64 => Int as i64, u32 => Int as i64, usize => Int as i64,
            f32 => Double as f64, f64 => Double as f64);
impl From<bool> for Value {
    fn from(x: bool) -> Value {
        Value::Bool(x)
    }
}
impl From<&str> for Value {
    fn from(x: &str) -> Value {
        Value::Text(x.to_string())
    }
}
impl From<String> for Value {
    fn from(x: String) -> Value {
        Value::Text(x)
    }
}
impl From<&String> for Value {
    fn from(x: &String) -> Value {
        Value::Text(x.clone())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Int,
    Double,
    String,
    Bool,
    Choice,
    Other(i32),
}

/// One schema entry (elm_key_info).
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub key: String,
    pub type_: KeyType,
    pub default: String,
    pub min: f64,
    pub max: f64,
    pub choices: Vec<String>,
    pub doc: String,
}

fn info_from(k: &sys::elm_key_info) -> KeyInfo {
    let choices = borrowed(k.choices);
    KeyInfo {
        key: borrowed(k.key),
        type_: match k.type_ {
            sys::ELM_TYPE_INT => KeyType::Int,
            sys::ELM_TYPE_DOUBLE => KeyType::Double,
            sys::ELM_TYPE_STRING => KeyType::String,
            sys::ELM_TYPE_BOOL => KeyType::Bool,
            sys::ELM_TYPE_CHOICE => KeyType::Choice,
            t => KeyType::Other(t),
        },
        default: borrowed(k.default_text),
        min: k.min,
        max: k.max,
        choices: if choices.is_empty() { vec![] } else { choices.split('|').map(String::from).collect() },
        doc: borrowed(k.doc),
    }
}

/// Every key of the schema, in order.
pub fn keys() -> Result<Vec<KeyInfo>> {
    // SAFETY: plain calls; the strings in elm_key_info are static.
    let n = unsafe { sys::elm_config_key_count() };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut k = sys::elm_key_info::init();
        check(unsafe { sys::elm_config_key_info(i, &mut k) })?;
        out.push(info_from(&k));
    }
    Ok(out)
}

/// The schema entry of a key; an unknown key is Status::Invalid listing close ones.
pub fn find_key(key: &str) -> Result<KeyInfo> {
    let c = cstring(key)?;
    let mut k = sys::elm_key_info::init();
    check(unsafe { sys::elm_config_find_key(c.as_ptr(), &mut k) })?;
    Ok(info_from(&k))
}

/// An owned elm_config.
pub struct Config {
    pub(crate) ptr: *mut sys::elm_config,
}

// SAFETY: libelm handles may move between threads (not be used by two at once:
// hence no Sync).
unsafe impl Send for Config {}

impl Config {
    pub fn new() -> Result<Config> {
        let mut p = ptr::null_mut();
        check(unsafe { sys::elm_config_new(&mut p) })?;
        Ok(Config { ptr: p })
    }

    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Set a key; the value is applied with the setter of the key's schema type
    /// (text values are parsed by that type).
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> Result<&mut Config> {
        let value = value.into();
        let k = cstring(key)?;
        let code = match &value {
            Value::Text(t) => {
                let v = cstring(t)?;
                unsafe { sys::elm_config_set(self.ptr, k.as_ptr(), v.as_ptr()) }
            }
            Value::Int(i) => {
                // an int for a double key is fine; for others the C setter checks
                match find_key(key)?.type_ {
                    KeyType::Double => unsafe { sys::elm_config_set_double(self.ptr, k.as_ptr(), *i as f64) },
                    _ => unsafe { sys::elm_config_set_int(self.ptr, k.as_ptr(), *i) },
                }
            }
            Value::Double(d) => unsafe { sys::elm_config_set_double(self.ptr, k.as_ptr(), *d) },
            Value::Bool(b) => unsafe { sys::elm_config_set_bool(self.ptr, k.as_ptr(), *b as i32) },
        };
        check(code)?;
        Ok(self)
    }

    pub fn get_int(&self, key: &str) -> Result<i64> {
        let k = cstring(key)?;
        let mut v = 0i64;
        check(unsafe { sys::elm_config_get_int(self.ptr, k.as_ptr(), &mut v) })?;
        Ok(v)
    }

    pub fn get_double(&self, key: &str) -> Result<f64> {
        let k = cstring(key)?;
        let mut v = 0f64;
        check(unsafe { sys::elm_config_get_double(self.ptr, k.as_ptr(), &mut v) })?;
        Ok(v)
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        let k = cstring(key)?;
        let mut v = 0;
        check(unsafe { sys::elm_config_get_bool(self.ptr, k.as_ptr(), &mut v) })?;
        Ok(v != 0)
    }

    pub fn get_string(&self, key: &str) -> Result<String> {
        let k = cstring(key)?;
        let mut v: *const c_char = ptr::null();
        check(unsafe { sys::elm_config_get_string(self.ptr, k.as_ptr(), &mut v) })?;
        Ok(borrowed(v))
    }

    /// Any key's value as text.
    pub fn get_text(&self, key: &str) -> Result<String> {
        let k = cstring(key)?;
        let mut v: *mut c_char = ptr::null_mut();
        check(unsafe { sys::elm_config_get_text(self.ptr, k.as_ptr(), &mut v) })?;
        Ok(take(v))
    }

    pub fn try_clone(&self) -> Result<Config> {
        let mut p = ptr::null_mut();
        check(unsafe { sys::elm_config_clone(self.ptr, &mut p) })?;
        Ok(Config { ptr: p })
    }

    pub fn as_ptr(&self) -> *const sys::elm_config {
        self.ptr
    }
}

impl Drop for Config {
    fn drop(&mut self) {
        unsafe { sys::elm_config_free(self.ptr) };
    }
}

pub(crate) fn cfg_ptr(cfg: Option<&Config>) -> *const sys::elm_config {
    cfg.map_or(ptr::null(), |c| c.ptr)
}

/// Collects settings and checks them all at `build()`:
///
/// ```no_run
/// let cfg = elm::ConfigBuilder::new().set("lora.rank", 4).set("optim.lr", 1e-3).build()?;
/// # Ok::<(), elm::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConfigBuilder {
    settings: Vec<(String, Value)>,
}

impl ConfigBuilder {
    pub fn new() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// A key by its schema name ("lora.rank"); `lora_rank` is accepted too.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> ConfigBuilder {
        self.settings.push((key.to_string(), value.into()));
        self
    }

    /// A configuration with every setting applied, or the first error; an
    /// unknown key names the valid ones.
    pub fn build(self) -> Result<Config> {
        let schema = keys()?;
        let mut cfg = Config::new()?;
        for (key, value) in self.settings {
            let known = schema.iter().find(|k| k.key == key || k.key.replace('.', "_") == key);
            let Some(info) = known else {
                let valid: Vec<&str> = schema.iter().map(|k| k.key.as_str()).collect();
                return Err(Error::new(
                    Status::Invalid,
                    format!("unknown configuration key '{key}'; valid keys: {}", valid.join(", ")),
                ));
            };
            cfg.set(&info.key, value)?;
        }
        Ok(cfg)
    }
}
