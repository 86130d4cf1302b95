//! Deterministic pseudo-random numbers (xorshift64*), so tests and benchmarks need no extra
//! crate. Shared by `tests/index.rs` (through `common`) and `benches/index.rs` (by path).

/// xorshift64* state; any non-zero seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [-0.5, 0.5).
    pub fn next_f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    /// A random unit vector of `dim` values.
    pub fn unit(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| self.next_f32()).collect();
        simsong::model::l2_normalize(&mut v);
        v
    }
}
