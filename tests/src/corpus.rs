//! Generated source files for benchmarks that need big documents of a known shape.

/// A 10,000-line Rust file: a thousand ten-line functions, different for every `seed`.
pub fn rust_file(seed: usize) -> String {
    let mut text = String::new();
    for f in 0..1_000 {
        text.push_str(&format!(
            "/// Function {f} of file {seed}.\npub fn f{f}(x: u64) -> u64 {{\n"
        ));
        for l in 0..7 {
            text.push_str(&format!(
                "    let v{l} = x.wrapping_mul({}) + {l};\n",
                f * 7 + l
            ));
        }
        text.push_str("}\n");
    }
    text
}
