//! Arrow arrays in and out. Identities arrive as any Arrow string or binary array (through
//! the PyCapsule interface, zero-copy: each identity is a slice of the array's buffers);
//! pseudonyms leave as a UTF-8 array of their text form (`spec/08-encodings.md` §8.4).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, StringArray};
use arrow_schema::DataType;
use blindnym::pseudonym::Pseudonym;
use pyo3::prelude::*;
use pyo3_arrow::PyArray;

use crate::errors::invalid;

/// The identities of an Arrow array of strings or binaries, borrowed from its buffers.
///
/// # Errors
/// `InvalidInput` (`NullIdentity`) for a null, naming its row; (`UnsupportedType`) for any
/// other type.
pub fn identities(array: &ArrayRef) -> PyResult<Vec<&[u8]>> {
    if let Some(row) = (0..array.len()).find(|&i| array.is_null(i)) {
        return Err(invalid(
            "NullIdentity",
            format!("row {row} has no identifier (null); drop or fill nulls first"),
        ));
    }
    Ok(match array.data_type() {
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .flatten()
            .map(str::as_bytes)
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .flatten()
            .map(str::as_bytes)
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .flatten()
            .map(str::as_bytes)
            .collect(),
        DataType::Binary => array.as_binary::<i32>().iter().flatten().collect(),
        DataType::LargeBinary => array.as_binary::<i64>().iter().flatten().collect(),
        DataType::BinaryView => array.as_binary_view().iter().flatten().collect(),
        other => {
            return Err(invalid(
                "UnsupportedType",
                format!("identifiers must be a string or binary array, not {other}"),
            ));
        }
    })
}

/// Pseudonyms as an Arrow UTF-8 array of their text form, exported to pyarrow.
pub fn texts<'py>(py: Python<'py>, pseudonyms: &[Pseudonym]) -> PyResult<Bound<'py, PyAny>> {
    let array: ArrayRef = Arc::new(StringArray::from_iter_values(
        pseudonyms.iter().map(Pseudonym::to_text),
    ));
    let exported = PyArray::from_array_ref(array);
    let object: Py<PyAny> = exported.to_pyarrow(py)?.unbind();
    Ok(object.into_bound(py))
}
