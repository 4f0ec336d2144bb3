//! The FROST crates take a `rand_core` 0.6 RNG; blindnym injects a `rand_core` 0.10 one.
//! This adapter lends the caller's RNG to them, byte for byte: no RNG of our own.

use rand_core::CryptoRng;

/// Borrows a `rand_core` 0.10 cryptographic RNG as a `rand_core` 0.6 one.
pub(crate) struct RngBridge<'a, R: CryptoRng + ?Sized>(pub(crate) &'a mut R);

impl<R: CryptoRng + ?Sized> rand_core_06::RngCore for RngBridge<'_, R> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl<R: CryptoRng + ?Sized> rand_core_06::CryptoRng for RngBridge<'_, R> {}
