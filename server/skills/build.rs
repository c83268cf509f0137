//! Embeds the repository's `skills/*.md` (all but `README.md`) into the crate: writes
//! `builtin_skills.rs` to `OUT_DIR` with one `(file name, include_str!(…))` pair per skill,
//! sorted by file name.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::{env, fs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let dir = manifest.join("../../skills").canonicalize()?;
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        let readme = path
            .file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("README.md"));
        if path.extension().is_some_and(|e| e == "md") && !readme {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
    files.sort();
    let mut out = String::from("/// The built-in skill files: (file name, contents).\n");
    out.push_str("pub(crate) static BUILTIN_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("file name")?;
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )?;
    }
    out.push_str("];\n");
    fs::write(
        PathBuf::from(env::var("OUT_DIR")?).join("builtin_skills.rs"),
        out,
    )?;
    Ok(())
}
