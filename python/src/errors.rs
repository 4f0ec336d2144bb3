//! The library's errors as Python exceptions: one base class, `BlindnymError`, and a subclass
//! per kind of failure. Each carries `code`, the library's error name (`spec/09-errors.md`),
//! and a message that says what went wrong, never a stack trace or a secret.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(
    blindnym,
    BlindnymError,
    PyException,
    "A blindnym failure; `code` is the library's error name."
);
create_exception!(
    blindnym,
    InvalidInput,
    BlindnymError,
    "Malformed, non-canonical, empty or over-long input."
);
create_exception!(
    blindnym,
    VerificationFailed,
    BlindnymError,
    "A proof or signature from an evaluator does not verify."
);
create_exception!(
    blindnym,
    KeySetError,
    BlindnymError,
    "The signed key set or verification shares are not acceptable (signature, realm, epoch)."
);
create_exception!(
    blindnym,
    ThresholdError,
    BlindnymError,
    "Threshold mode: too few valid answers, an unknown evaluator, or another tweak record."
);

/// Adds the exception classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("BlindnymError", py.get_type::<BlindnymError>())?;
    m.add("InvalidInput", py.get_type::<InvalidInput>())?;
    m.add("VerificationFailed", py.get_type::<VerificationFailed>())?;
    m.add("KeySetError", py.get_type::<KeySetError>())?;
    m.add("ThresholdError", py.get_type::<ThresholdError>())?;
    Ok(())
}

/// The Python exception for a library error, with `code` set to [`blindnym::Error::code`]
/// and the class chosen by [`blindnym::Error::kind`].
pub fn to_py(error: blindnym::Error) -> PyErr {
    use blindnym::ErrorKind as K;
    let code = error.code();
    let message = format!("{code}: {error}");
    let err = match error.kind() {
        K::Verification => VerificationFailed::new_err(message),
        K::KeySet => KeySetError::new_err(message),
        K::Threshold => ThresholdError::new_err(message),
        K::Malformed => InvalidInput::new_err(message),
        _ => BlindnymError::new_err(message),
    };
    Python::attach(|py| {
        let _ = err.value(py).setattr("code", code);
    });
    err
}

/// An `InvalidInput` of the binding itself (not a library error), with its own code.
pub fn invalid(code: &str, message: impl Into<String>) -> PyErr {
    let err = InvalidInput::new_err(format!("{code}: {}", message.into()));
    Python::attach(|py| {
        let _ = err.value(py).setattr("code", code);
    });
    err
}
