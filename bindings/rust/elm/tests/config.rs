//! Errors, configuration, versions, formatting: needs only the config layer.

mod common;

use elm::{ConfigBuilder, Status};

#[test]
fn version_matches() {
    elm::check_version().unwrap();
    let (a, b, c) = elm::version();
    assert_eq!(elm::version_string(), format!("{a}.{b}.{c}"));
}

#[test]
fn builder_sets_typed_values() {
    let cfg = ConfigBuilder::new()
        .set("lora.rank", 4)
        .set("optim_lr", 1e-3)
        .set("lora.alpha", 8) // an int for a double key
        .set("runtime.dtype", "float32")
        .set("lora.targets", "q,v")
        .build()
        .unwrap();
    assert_eq!(cfg.get_int("lora.rank").unwrap(), 4);
    assert_eq!(cfg.get_double("optim.lr").unwrap(), 1e-3);
    assert_eq!(cfg.get_double("lora.alpha").unwrap(), 8.0);
    assert_eq!(cfg.get_string("runtime.dtype").unwrap(), "float32");
    assert_eq!(cfg.get_text("lora.targets").unwrap(), "q,v");
    let copy = cfg.try_clone().unwrap();
    assert_eq!(copy.get_int("lora.rank").unwrap(), 4);
}

#[test]
fn unknown_key_lists_valid_keys() {
    let e = ConfigBuilder::new().set("lora.rnk", 4).build().err().unwrap();
    assert_eq!(e.status, Status::Invalid);
    assert!(e.message.contains("lora.rnk") && e.message.contains("lora.rank"), "{}", e.message);
}

#[test]
fn out_of_range_error_has_status_and_message() {
    let e = ConfigBuilder::new().set("lora.rank", 0).build().err().unwrap();
    assert_eq!(e.status, Status::Invalid);
    assert!(e.message.contains("lora.rank"), "{}", e.message);
    assert!(e.to_string().starts_with("ELM_E_INVALID: "), "{e}");
    assert_eq!(Status::from_code(-8), Status::Cancelled);
    assert_eq!(Status::Cancelled.name(), "ELM_E_CANCELLED");
}

#[test]
fn schema_is_listed() {
    let keys = elm::keys().unwrap();
    assert!(keys.iter().any(|k| k.key == "lora.rank" && k.type_ == elm::KeyType::Int));
    let dtype = elm::find_key("runtime.dtype").unwrap();
    assert!(dtype.choices.iter().any(|c| c == "float32"));
    assert_eq!(elm::find_key("nope").err().unwrap().status, Status::Invalid);
}

#[test]
fn dataset_errors_and_records() {
    let e = elm::Dataset::open("/nonexistent/x.jsonl", None).err().unwrap();
    assert_eq!(e.status, Status::Io);
    let ds = elm::Dataset::open(common::erase_dir().join("consistency.json"), None).unwrap();
    assert_eq!(ds.kind(), elm::DatasetKind::Pairs);
    assert!(!ds.is_empty());
    let (p, c) = ds.pair(0).unwrap();
    assert!(!p.is_empty() && !c.is_empty());
}

#[test]
fn keyword_files_give_a_concept() {
    let dir = std::env::temp_dir().join(format!("elm-kw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("kw.json");
    std::fs::write(&f, r#"{"bio": ["viral vectors", "toxins"], "cyber": ["exploits"]}"#).unwrap();
    assert_eq!(elm::read_keywords(&f, Some("bio")).unwrap(), "viral vectors, toxins");
    let e = elm::read_keywords(&f, None).err().unwrap();
    assert_eq!(e.status, Status::Invalid);
    assert!(e.message.contains("keys: bio, cyber"), "{}", e.message);
    std::fs::write(&f, r#"["a", 1]"#).unwrap();
    let e = elm::read_keywords(&f, None).err().unwrap();
    assert_eq!(e.status, Status::Format);
    assert!(e.message.contains("item 1: expected a string"), "{}", e.message);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn errors_are_per_thread() {
    let h = std::thread::spawn(|| ConfigBuilder::new().set("optim.lr", -1.0).build().err().unwrap());
    let mine = ConfigBuilder::new().set("lora.rank", 0).build().err().unwrap();
    let theirs = h.join().unwrap();
    assert!(mine.message.contains("lora.rank"));
    assert!(theirs.message.contains("optim.lr"));
}

#[test]
fn handles_are_send_not_sync() {
    fn send<T: Send>() {}
    send::<elm::Config>();
    send::<elm::Model>();
    send::<elm::Session>();
    send::<elm::Dataset>();
    send::<elm::Tokenizer>();
    // A config made here, used and dropped there.
    let cfg = ConfigBuilder::new().set("lora.rank", 4).build().unwrap();
    let v = std::thread::spawn(move || cfg.get_int("lora.rank").unwrap()).join().unwrap();
    assert_eq!(v, 4);
}

extern "C" {
    fn snprintf(buf: *mut std::os::raw::c_char, n: usize, fmt: *const std::os::raw::c_char, ...) -> i32;
}

#[test]
fn fmt_g9_equals_c_printf() {
    let values = [
        0.0, -0.0, 1.0, 15.984937191009521, 9.448553800582886, 0.001, 1e-5, 1.2345678912345e-7, 123456789.0,
        1234567890.0, 5e-324, 1e300, -2.5, 0.1, 100.0, 0.00012345678949, 999999999.5, f64::NAN, f64::INFINITY,
        f32::MAX as f64, f32::MIN_POSITIVE as f64, 3.4028235e38,
    ];
    for v in values {
        let mut buf = [0 as std::os::raw::c_char; 64];
        unsafe { snprintf(buf.as_mut_ptr(), 64, b"%.9g\0".as_ptr() as *const _, v) };
        let c = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap().to_string();
        assert_eq!(elm::fmt_g9(v), c, "value {v:e}");
    }
}
