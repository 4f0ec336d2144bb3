//! Writes the pseudonym layer's known-answer vectors to `spec/vectors/` (spec/11-vectors.md).
//!
//! `cargo run --example gen_vectors` regenerates them; `cargo test --test pseudonym_vectors`
//! checks them.

mod kat;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/vectors");
    std::fs::create_dir_all(&dir)?;
    for file in kat::FILES {
        let content = kat::generate_file(file)?;
        let path = dir.join(file.name);
        std::fs::write(&path, serde_json::to_string_pretty(&content)? + "\n")?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
