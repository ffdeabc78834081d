//! This crate's `#[repr(C)]` structs and constants against what the C
//! compiler makes of elm.h: `bindings/abi/elm_abi_dump.c` is built with `cc`
//! (or `$CC`) and prints sizeof/alignof of every public struct, offset and
//! size of every field, and every enum constant and version macro (the
//! Python test holds that program to elm.h). Each struct here must list all
//! of its Rust fields (an exhaustive pattern makes a missing one a compile
//! error), and each C struct, field and constant must have its mirror.
//! Offsets are taken with `addr_of!` on an uninitialised value, so the test
//! keeps the crate's rust-version (offset_of! is 1.77+).

use std::collections::BTreeMap;
use std::mem::{align_of, size_of, MaybeUninit};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct CStruct {
    size: usize,
    align: usize,
    fields: Vec<(String, usize, usize)>,
}

struct Dump {
    structs: BTreeMap<String, CStruct>,
    consts: BTreeMap<String, i64>,
}

fn source_tree() -> PathBuf {
    // bindings/rust/elm-sys -> the repository root
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn include_dir() -> PathBuf {
    if !elm_sys::INCLUDE_DIR.is_empty() && Path::new(elm_sys::INCLUDE_DIR).join("elm.h").exists() {
        return PathBuf::from(elm_sys::INCLUDE_DIR);
    }
    source_tree().join("include")
}

/// The dump, built and run once per test process (the tests run in parallel).
fn dump() -> &'static Dump {
    static DUMP: OnceLock<Dump> = OnceLock::new();
    DUMP.get_or_init(run_dump)
}

fn run_dump() -> Dump {
    let src = source_tree().join("bindings/abi/elm_abi_dump.c");
    assert!(src.exists(), "layout program not found at {}", src.display());
    let inc = include_dir();
    assert!(inc.join("elm.h").exists(), "elm.h not found in {} (set ELM_INCLUDE_DIR)", inc.display());
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("elm_abi_dump-{}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(&cc)
        .arg("-std=c11")
        .arg("-I")
        .arg(&inc)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run the C compiler {cc:?} ({e}); set CC or install cc to build {}", src.display())
        });
    assert!(
        built.status.success(),
        "{cc} failed on {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&built.stderr)
    );
    let out = Command::new(&exe).output().unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
    assert!(out.status.success(), "{} exited with {}", exe.display(), out.status);
    let text = String::from_utf8(out.stdout).expect("dump output is not UTF-8");

    let mut d = Dump { structs: BTreeMap::new(), consts: BTreeMap::new() };
    for (n, line) in text.lines().enumerate() {
        let w: Vec<&str> = line.split(' ').collect();
        let num = |s: &str| -> i64 { s.parse().unwrap_or_else(|_| panic!("dump line {}: {line:?}", n + 1)) };
        match w.as_slice() {
            ["struct", name, size, align] => {
                d.structs.insert(
                    name.to_string(),
                    CStruct { size: num(size) as usize, align: num(align) as usize, fields: Vec::new() },
                );
            }
            ["field", name, f, off, size] => d
                .structs
                .get_mut(*name)
                .unwrap_or_else(|| panic!("dump line {}: field before its struct", n + 1))
                .fields
                .push((f.to_string(), num(off) as usize, num(size) as usize)),
            ["const", name, v] => {
                d.consts.insert(name.to_string(), num(v));
            }
            _ => panic!("dump line {} unreadable: {line:?}", n + 1),
        }
    }
    let _ = std::fs::remove_file(&exe);
    d
}

struct Mirror {
    name: &'static str,
    size: usize,
    align: usize,
    fields: Vec<(&'static str, usize, usize)>,
}

fn size_of_pointee<T>(_: *const T) -> usize {
    size_of::<T>()
}

/// A struct's Rust layout: `layout!(elm_x { a, b, type_ as "type" })` names
/// every field (in declaration order), with its C name where it differs.
macro_rules! layout {
    ($t:ident { $($f:ident $(as $c:literal)?),* $(,)? }) => {{
        // Compile error if the Rust struct has a field this list misses.
        #[allow(dead_code)]
        fn exhaustive(s: elm_sys::$t) {
            let elm_sys::$t { $($f: _),* } = s;
        }
        let u = MaybeUninit::<elm_sys::$t>::uninit();
        let base = u.as_ptr();
        let mut fields = Vec::new();
        $(
            // SAFETY: addr_of! makes no reference; the place is in bounds.
            let p = unsafe { core::ptr::addr_of!((*base).$f) };
            #[allow(unused_variables)]
            let name = stringify!($f);
            $(let name = $c;)?
            fields.push((name, p as usize - base as usize, size_of_pointee(p)));
        )*
        Mirror { name: stringify!($t), size: size_of::<elm_sys::$t>(), align: align_of::<elm_sys::$t>(), fields }
    }};
}

fn mirrors() -> Vec<Mirror> {
    vec![
        layout!(elm_key_info { size, key, type_ as "type", default_text, min, max, choices, doc }),
        layout!(elm_progress { size, what, done, total, seconds, detail }),
        layout!(elm_model_info {
            size, architecture, dtype, device, n_layers, n_embd, n_heads, n_kv_heads, head_dim, n_ff,
            n_vocab, n_ctx, n_params, tied_embeddings, has_adapter, source_dtype,
        }),
        layout!(elm_chat_message { role, content }),
        layout!(elm_step_stats {
            size, step, micro_steps, loss, loss_erase, loss_retain, loss_consistency, loss_train,
            grad_norm, lr, tokens, seconds,
        }),
        layout!(elm_mcq_result {
            size, n, n_correct, accuracy, ci_low, ci_high, predicted, answers, margins, seconds,
            stride, loglik, n_tokens, predicted_unnormalized, n_correct_unnormalized,
            accuracy_unnormalized,
        }),
        layout!(elm_ppl_result { size, perplexity, nll, n_tokens, seconds }),
    ]
}

#[test]
fn every_c_struct_is_mirrored_with_its_layout() {
    let d = dump();
    let ms = mirrors();
    let rust: Vec<&str> = ms.iter().map(|m| m.name).collect();
    let c: Vec<&str> = d.structs.keys().map(|s| s.as_str()).collect();
    let mut rust_sorted = rust.clone();
    rust_sorted.sort();
    assert_eq!(rust_sorted, c, "public structs: elm-sys vs elm.h");

    let mut bad = Vec::new();
    for m in &ms {
        let cs = &d.structs[m.name];
        let cf: Vec<(&str, usize, usize)> = cs.fields.iter().map(|(f, o, s)| (f.as_str(), *o, *s)).collect();
        if m.fields != cf {
            bad.push(format!("{}: fields (name, offset, size)\n  rust {:?}\n  C    {:?}", m.name, m.fields, cf));
        }
        if (m.size, m.align) != (cs.size, cs.align) {
            bad.push(format!("{}: (size, align) rust {:?} vs C {:?}", m.name, (m.size, m.align), (cs.size, cs.align)));
        }
    }
    assert!(bad.is_empty(), "elm-sys layouts differ from C:\n{}", bad.join("\n"));
}

#[test]
fn sized_struct_init_sets_the_c_size() {
    use elm_sys::SizedStruct;
    let d = dump();
    let got = [
        ("elm_key_info", elm_sys::elm_key_info::init().size),
        ("elm_progress", elm_sys::elm_progress::init().size),
        ("elm_model_info", elm_sys::elm_model_info::init().size),
        ("elm_step_stats", elm_sys::elm_step_stats::init().size),
        ("elm_mcq_result", elm_sys::elm_mcq_result::init().size),
        ("elm_ppl_result", elm_sys::elm_ppl_result::init().size),
    ];
    for (name, size) in got {
        assert_eq!(size as usize, d.structs[name].size, "{name}: init().size vs C sizeof");
    }
}

macro_rules! consts {
    ($($c:ident),* $(,)?) => { vec![$((stringify!($c), elm_sys::$c as i64)),*] };
}

#[test]
fn every_c_constant_is_mirrored_with_its_value() {
    let d = dump();
    let rust: BTreeMap<&str, i64> = consts![
        ELM_VERSION_MAJOR, ELM_VERSION_MINOR, ELM_VERSION_PATCH, ELM_VERSION_NUMBER,
        ELM_OK, ELM_E_INVALID, ELM_E_IO, ELM_E_FORMAT, ELM_E_UNSUPPORTED, ELM_E_NOMEM,
        ELM_E_DEVICE, ELM_E_NUMERIC, ELM_E_CANCELLED, ELM_E_STATE, ELM_E_INTERNAL,
        ELM_LOG_ERROR, ELM_LOG_WARN, ELM_LOG_INFO, ELM_LOG_DEBUG,
        ELM_TYPE_INT, ELM_TYPE_DOUBLE, ELM_TYPE_STRING, ELM_TYPE_BOOL, ELM_TYPE_CHOICE,
        ELM_TOKENIZE_ADD_SPECIAL, ELM_TOKENIZE_PARSE_SPECIAL, ELM_DETOKENIZE_SKIP_SPECIAL,
        ELM_TOKEN_BOS, ELM_TOKEN_EOS, ELM_TOKEN_PAD, ELM_TOKEN_UNK,
        ELM_DATASET_TEXT, ELM_DATASET_PAIRS, ELM_DATASET_MCQ,
        ELM_ROLE_FORGET, ELM_ROLE_RETAIN, ELM_ROLE_CONSISTENCY, ELM_ROLE_TRAIN,
    ]
    .into_iter()
    .collect();
    let missing: Vec<&String> = d.consts.keys().filter(|k| !rust.contains_key(k.as_str())).collect();
    assert!(missing.is_empty(), "elm.h constants with no elm-sys mirror in this test: {missing:?}");
    let extra: Vec<&&str> = rust.keys().filter(|k| !d.consts.contains_key(**k)).collect();
    assert!(extra.is_empty(), "listed here but not printed by the dump: {extra:?}");
    let wrong: Vec<String> = d
        .consts
        .iter()
        .filter(|(k, v)| rust[k.as_str()] != **v)
        .map(|(k, v)| format!("{k}: rust {} vs C {v}", rust[k.as_str()]))
        .collect();
    assert!(wrong.is_empty(), "constants differ: {wrong:?}");
}
