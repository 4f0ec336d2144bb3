//! Threshold parameters, evaluator indices and the polynomial arithmetic every threshold
//! protocol shares: Shamir evaluation, Feldman commitments and Lagrange coefficients at zero
//! (`spec/12-threshold.md` §12.2).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;

use crate::error::{Error, Result};

/// The most evaluators one deployment may have (indices fit one byte on the wire's `u16`).
pub const MAX_EVALUATORS: u16 = 255;

/// `(t, n)`: any `t` of the `n` evaluators serve; `t − 1` learn nothing. `2 ≤ t ≤ n ≤ 255`.
/// Flows A and B also need `2t − 1 ≤ n` evaluators online for the inversion per tweak
/// ([`Threshold::inversion_quorum`]); flow H needs only `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Threshold {
    t: u16,
    n: u16,
}

impl Threshold {
    /// Checked parameters.
    ///
    /// # Errors
    /// [`Error::ThresholdParams`] unless `2 ≤ t ≤ n ≤ 255`.
    pub fn new(t: u16, n: u16) -> Result<Self> {
        if t < 2 || t > n || n > MAX_EVALUATORS {
            return Err(Error::ThresholdParams);
        }
        Ok(Self { t, n })
    }

    /// How many evaluators answer a request.
    pub fn t(&self) -> u16 {
        self.t
    }

    /// How many evaluators hold shares.
    pub fn n(&self) -> u16 {
        self.n
    }

    /// How many participants the shared inversion needs: `2t − 1` (§12.6).
    pub fn inversion_quorum(&self) -> usize {
        2 * usize::from(self.t) - 1
    }

    /// Checks that `index` names an evaluator, `1..=n`.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] otherwise.
    pub fn check_index(&self, index: u16) -> Result<()> {
        if index == 0 || index > self.n {
            return Err(Error::UnknownEvaluator { index });
        }
        Ok(())
    }

    /// Checks a set of indices: each in `1..=n`, strictly increasing (so no repeats), at
    /// least `need` of them.
    ///
    /// # Errors
    /// [`Error::UnknownEvaluator`] for an index out of range or out of order,
    /// [`Error::TooFewShares`] for too few.
    pub fn check_set(&self, indices: &[u16], need: usize) -> Result<()> {
        let mut previous = 0;
        for &index in indices {
            self.check_index(index)?;
            if index <= previous {
                return Err(Error::UnknownEvaluator { index });
            }
            previous = index;
        }
        if indices.len() < need {
            return Err(Error::TooFewShares {
                have: indices.len(),
                need,
            });
        }
        Ok(())
    }
}

/// The scalar `x = index` at which an evaluator's share is the polynomial's value.
pub(crate) fn x_of(index: u16) -> Scalar {
    Scalar::from(index)
}

/// `f(x) = Σ c_l·x^l` by Horner's rule (constant time in the coefficients).
pub(crate) fn evaluate_polynomial(coefficients: &[Scalar], x: &Scalar) -> Scalar {
    coefficients
        .iter()
        .rev()
        .fold(Scalar::ZERO, |acc, c| acc * x + c)
}

/// `Σ C_l·x^l` for public commitments `C_l` (Feldman): the commitment to `f(x)`. `first` is
/// the power of the first commitment (1 for a polynomial whose constant term is zero and
/// left out).
pub(crate) fn evaluate_commitment(
    commitments: &[RistrettoPoint],
    first: u32,
    x: &Scalar,
) -> RistrettoPoint {
    let mut power = (0..first).fold(Scalar::ONE, |p, _| p * x);
    let mut powers = Vec::with_capacity(commitments.len());
    for _ in commitments {
        powers.push(power);
        power *= x;
    }
    RistrettoPoint::vartime_multiscalar_mul(powers, commitments)
}

/// The Lagrange coefficients at zero `λ_i = Π_{j≠i} x_j / (x_j − x_i)` of a set of distinct
/// nonzero indices, in the set's order.
///
/// # Errors
/// [`Error::UnknownEvaluator`] for a zero or repeated index.
pub(crate) fn lagrange_at_zero(indices: &[u16]) -> Result<Vec<Scalar>> {
    let xs: Vec<Scalar> = indices.iter().map(|&i| x_of(i)).collect();
    let mut coefficients = Vec::with_capacity(xs.len());
    for (position, x_i) in xs.iter().enumerate() {
        if *x_i == Scalar::ZERO {
            return Err(Error::UnknownEvaluator { index: 0 });
        }
        let (mut numerator, mut denominator) = (Scalar::ONE, Scalar::ONE);
        for (other, x_j) in xs.iter().enumerate() {
            if other == position {
                continue;
            }
            if x_j == x_i {
                return Err(Error::UnknownEvaluator {
                    index: indices[position],
                });
            }
            numerator *= x_j;
            denominator *= x_j - x_i;
        }
        coefficients.push(numerator * denominator.invert());
    }
    Ok(coefficients)
}

/// `Σ λ_i·P_i` over the set: the value at zero of the polynomial in the exponent through the
/// points `(index_i, P_i)`.
///
/// # Errors
/// As [`lagrange_at_zero`].
pub(crate) fn interpolate_points(
    indices: &[u16],
    points: &[RistrettoPoint],
) -> Result<RistrettoPoint> {
    let lambdas = lagrange_at_zero(indices)?;
    Ok(RistrettoPoint::vartime_multiscalar_mul(lambdas, points))
}

/// `Σ λ_i·s_i`: the value at zero of the polynomial through `(index_i, s_i)`.
///
/// # Errors
/// As [`lagrange_at_zero`].
pub(crate) fn interpolate_scalars(indices: &[u16], values: &[Scalar]) -> Result<Scalar> {
    let lambdas = lagrange_at_zero(indices)?;
    Ok(lambdas.iter().zip(values).map(|(l, v)| l * v).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked() {
        assert!(Threshold::new(2, 3).is_ok());
        assert_eq!(Threshold::new(1, 3), Err(Error::ThresholdParams));
        assert_eq!(Threshold::new(4, 3), Err(Error::ThresholdParams));
        assert_eq!(Threshold::new(2, 256), Err(Error::ThresholdParams));
        let params = Threshold::new(3, 5).expect("valid");
        assert_eq!(params.inversion_quorum(), 5);
        assert_eq!(params.check_set(&[1, 3, 5], 3), Ok(()));
        assert_eq!(
            params.check_set(&[1, 1, 5], 3),
            Err(Error::UnknownEvaluator { index: 1 })
        );
        assert_eq!(
            params.check_set(&[0, 1, 5], 3),
            Err(Error::UnknownEvaluator { index: 0 })
        );
        assert_eq!(
            params.check_set(&[1, 6], 2),
            Err(Error::UnknownEvaluator { index: 6 })
        );
        assert_eq!(
            params.check_set(&[1, 2], 3),
            Err(Error::TooFewShares { have: 2, need: 3 })
        );
    }

    #[test]
    fn interpolation_recovers_the_constant_term() {
        let coefficients = [Scalar::from(7u8), Scalar::from(11u8), Scalar::from(13u8)];
        let indices = [2u16, 4, 5];
        let values: Vec<Scalar> = indices
            .iter()
            .map(|&i| evaluate_polynomial(&coefficients, &x_of(i)))
            .collect();
        assert_eq!(interpolate_scalars(&indices, &values), Ok(coefficients[0]));
        let two = interpolate_scalars(&indices[..2], &values[..2]).expect("distinct");
        assert_ne!(
            two, coefficients[0],
            "t − 1 points do not determine the secret"
        );
    }
}
