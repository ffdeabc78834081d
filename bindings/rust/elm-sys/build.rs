//! Finds libelm: ELM_LIB_DIR (a build folder holding libelm.so) wins; else
//! pkg-config's `elm`. ELM_INCLUDE_DIR names the folder of elm.h (exported to
//! dependants as DEP_ELM_INCLUDE; the declaration test reads elm.h from it).

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=ELM_LIB_DIR");
    println!("cargo:rerun-if-env-changed=ELM_INCLUDE_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let mut include: Option<PathBuf> = env::var_os("ELM_INCLUDE_DIR").map(PathBuf::from);

    if let Some(dir) = env::var_os("ELM_LIB_DIR") {
        let dir = PathBuf::from(dir);
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=dylib=elm");
        println!("cargo:root={}", dir.display());
    } else {
        match pkg_config::Config::new().atleast_version("0.1.0").probe("elm") {
            Ok(lib) => {
                if include.is_none() {
                    include = lib.include_paths.first().cloned();
                }
            }
            Err(e) => panic!(
                "elm-sys: libelm not found.\n  Set ELM_LIB_DIR to the folder holding libelm.so \
                 (and ELM_INCLUDE_DIR to that of elm.h), or install libelm with its elm.pc.\n  \
                 pkg-config said: {e}"
            ),
        }
    }
    if let Some(inc) = include {
        println!("cargo:include={}", inc.display());
        println!("cargo:rustc-env=ELM_SYS_INCLUDE_DIR={}", inc.display());
    } else {
        println!("cargo:rustc-env=ELM_SYS_INCLUDE_DIR=");
    }
}
