//! `blindnym._blindnym`: the Python binding of blindnym, thin over the Rust library. The data
//! holder's side of flow B (`spec/07-flow-b.md`; threshold mode, `spec/12-threshold.md` §12.7)
//! on Arrow arrays through the Arrow PyCapsule interface, so a batch crosses without a Python
//! object per row; the signed key set and verification shares; the pseudonym text form; the
//! library's errors as Python exceptions. The HTTP client and the PySpark job are Python
//! (`python/blindnym/`).

mod arrow_io;
mod errors;
mod holder;
mod request_key;
mod testing;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _blindnym(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(m)?;
    m.add_class::<holder::KeySet>()?;
    m.add_class::<holder::EpochShares>()?;
    m.add_class::<holder::DataHolder>()?;
    m.add_class::<holder::BlindBatch>()?;
    m.add_class::<request_key::RequestKey>()?;
    m.add_function(wrap_pyfunction!(holder::verify_key_set, m)?)?;
    m.add_function(wrap_pyfunction!(holder::verify_epoch_shares, m)?)?;
    m.add_function(wrap_pyfunction!(testing::pseudonym_text, m)?)?;
    m.add_function(wrap_pyfunction!(testing::pseudonym_parse, m)?)?;
    m.add_function(wrap_pyfunction!(testing::evaluate_direct, m)?)?;
    m.add_function(wrap_pyfunction!(testing::rfc9497_derive_key_pair, m)?)?;
    m.add_function(wrap_pyfunction!(testing::rfc9497_evaluate, m)?)?;
    // The most identities one flow B batch carries (`spec/07-flow-b.md` §7.3).
    m.add("MAX_BATCH", 65_535u32)?;
    Ok(())
}
