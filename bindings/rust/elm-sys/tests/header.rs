//! The declarations of this crate against include/elm.h: the same functions,
//! with the same number of parameters. elm.h's ELM_API prototypes are parsed
//! by a small parser; so is this crate's own `extern "C"` block, so the test
//! also catches a declaration missing from `elm_sys::FUNCTIONS` (or the reverse).
//! Needs no symbol of the library, so it passes while the library is partial.

use std::collections::BTreeMap;
use std::path::PathBuf;

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && i + 1 < b.len() && b[i + 1] == b'*' {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if b[i] == b'/' && i + 1 < b.len() && b[i + 1] == b'/' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// Parameters of a parameter list: top-level commas + 1; "" and "void" are 0.
fn count_params(list: &str) -> usize {
    let t = list.trim();
    if t.is_empty() || t == "void" {
        return 0;
    }
    let mut depth = 0i32;
    let mut n = 1;
    for c in t.chars() {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' => depth -= 1,
            ',' if depth == 0 => n += 1,
            _ => {}
        }
    }
    // a trailing comma (rustfmt style) is not a parameter
    if t.ends_with(',') {
        n -= 1;
    }
    n
}

/// The text between the '(' at `open` and its matching ')'.
fn balanced(s: &str, open: usize) -> Option<(&str, usize)> {
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&s[open + 1..open + i], open + i));
                }
            }
            _ => {}
        }
    }
    None
}

fn header_path() -> PathBuf {
    if !elm_sys::INCLUDE_DIR.is_empty() {
        let p = PathBuf::from(elm_sys::INCLUDE_DIR).join("elm.h");
        if p.exists() {
            return p;
        }
    }
    // in the libelm source tree: bindings/rust/elm-sys -> include/elm.h
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../include/elm.h")
}

fn parse_header() -> BTreeMap<String, usize> {
    let path = header_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let text = strip_comments(&text);
    let mut out = BTreeMap::new();
    let mut rest = 0;
    while let Some(pos) = text[rest..].find("ELM_API") {
        let start = rest + pos + "ELM_API".len();
        // the declaration ends at the next ';'
        let end = start + text[start..].find(';').expect("unterminated declaration");
        let decl = &text[start..end];
        rest = end;
        if decl.contains("__attribute__") || decl.trim().is_empty() {
            continue; // the #define ELM_API lines
        }
        let open = decl.find('(').expect("no '(' in an ELM_API declaration");
        let name: String = decl[..open]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let (params, _) = balanced(decl, open).expect("unbalanced parentheses");
        assert!(name.starts_with("elm_"), "odd ELM_API name {name:?} in {decl:?}");
        out.insert(name, count_params(params));
    }
    out
}

fn parse_own_externs() -> BTreeMap<String, usize> {
    let src = include_str!("../src/lib.rs");
    let src = strip_comments(src);
    let block_start = src.find("extern \"C\" {").expect("no extern block");
    let block = &src[block_start..];
    let mut out = BTreeMap::new();
    let mut rest = 0;
    while let Some(pos) = block[rest..].find("pub fn ") {
        let start = rest + pos + "pub fn ".len();
        let open = start + block[start..].find('(').unwrap();
        let name = block[start..open].trim().to_string();
        let (params, close) = balanced(block, open).unwrap();
        out.insert(name, count_params(params));
        rest = close;
    }
    out
}

#[test]
fn functions_list_matches_elm_h() {
    let header = parse_header();
    assert!(header.len() > 50, "parsed only {} functions from elm.h", header.len());
    let listed: BTreeMap<String, usize> = elm_sys::FUNCTIONS.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    assert_eq!(listed.len(), elm_sys::FUNCTIONS.len(), "duplicate in FUNCTIONS");
    let missing: Vec<_> = header.keys().filter(|k| !listed.contains_key(*k)).collect();
    let extra: Vec<_> = listed.keys().filter(|k| !header.contains_key(*k)).collect();
    assert!(missing.is_empty(), "in elm.h but not declared: {missing:?}");
    assert!(extra.is_empty(), "declared but not in elm.h: {extra:?}");
    for (name, n) in &header {
        assert_eq!(listed[name], *n, "{name}: parameters in FUNCTIONS vs elm.h");
    }
}

#[test]
fn extern_block_matches_functions_list() {
    let externs = parse_own_externs();
    let listed: BTreeMap<String, usize> = elm_sys::FUNCTIONS.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    assert_eq!(externs, listed);
}

#[test]
fn version_constants_match_elm_h() {
    let text = std::fs::read_to_string(header_path()).unwrap();
    for (name, value) in [
        ("ELM_VERSION_MAJOR", elm_sys::ELM_VERSION_MAJOR),
        ("ELM_VERSION_MINOR", elm_sys::ELM_VERSION_MINOR),
        ("ELM_VERSION_PATCH", elm_sys::ELM_VERSION_PATCH),
    ] {
        let line = text.lines().find(|l| l.starts_with(&format!("#define {name} "))).unwrap();
        let v: i32 = line.split_whitespace().nth(2).unwrap().parse().unwrap();
        assert_eq!(v, value, "{name}");
    }
}

#[test]
fn struct_sizes_are_plausible() {
    use std::mem::size_of;
    // x86-64/aarch64 LP64 layouts of elm.h's structs.
    if size_of::<usize>() == 8 {
        assert_eq!(size_of::<elm_sys::elm_key_info>(), 64);
        assert_eq!(size_of::<elm_sys::elm_progress>(), 48);
        assert_eq!(size_of::<elm_sys::elm_model_info>(), 88);
        assert_eq!(size_of::<elm_sys::elm_step_stats>(), 96);
        assert_eq!(size_of::<elm_sys::elm_mcq_result>(), 128);
        assert_eq!(size_of::<elm_sys::elm_ppl_result>(), 40);
    }
}

#[test]
fn library_version_matches() {
    let v = unsafe { elm_sys::elm_version() };
    assert_eq!(v / 10000, elm_sys::ELM_VERSION_MAJOR);
}
