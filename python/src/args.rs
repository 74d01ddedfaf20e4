//! Reading the normalised arguments the Python side passes as dicts.
//!
//! The Python side has already checked types and named the argument at fault; what is
//! left here are the checks only steady can make (a header value, a rate), which become
//! `ValueError`s naming the argument.

use std::time::Duration;

use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// The value under `key`, `None` when missing or `None`.
pub(crate) fn item<'py, T>(dict: &Bound<'py, PyDict>, key: &str) -> PyResult<Option<T>>
where
    T: FromPyObjectOwned<'py>,
{
    match dict.get_item(key)? {
        Some(value) if !value.is_none() => value.extract::<T>().map(Some).map_err(|e| {
            let e: PyErr = e.into();
            PyValueError::new_err(format!("{key}: {e}"))
        }),
        _ => Ok(None),
    }
}

/// The bytes under `key`, copied, `None` when missing or `None`.
pub(crate) fn bytes_item(dict: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<Vec<u8>>> {
    match dict.get_item(key)? {
        Some(value) if !value.is_none() => {
            let bytes = value
                .cast::<PyBytes>()
                .map_err(|_| PyValueError::new_err(format!("{key} must be bytes")))?;
            Ok(Some(bytes.as_bytes().to_vec()))
        }
        _ => Ok(None),
    }
}

/// A duration in seconds, checked: positive and finite.
pub(crate) fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    if !(value.is_finite() && value > 0.0) {
        return Err(PyValueError::new_err(format!(
            "{name} must be a positive number of seconds, not {value}"
        )));
    }
    Duration::try_from_secs_f64(value)
        .map_err(|_| PyValueError::new_err(format!("{name} is out of range: {value}")))
}

/// The optional duration under `key`.
pub(crate) fn duration_item(dict: &Bound<'_, PyDict>, key: &str) -> PyResult<Option<Duration>> {
    item::<f64>(dict, key)?.map(|v| seconds(key, v)).transpose()
}
