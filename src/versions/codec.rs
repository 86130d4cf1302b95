//! A fingerprint's stored form: its peaks on a fixed grid, about 4.5 bytes each (a 3-minute
//! track: ≈ 10 kB). The landmarks are derived from the peaks again when it is read, so what is
//! stored cannot disagree with what is compared.
//!
//! ```text
//! byte 0      FINGERPRINT_VERSION (u8)
//! bytes 1–4   frames per second, f32 little-endian
//! bytes 5–8   the track's length in frames, u32 little-endian
//! varint      number of peaks
//! per peak    varint   zigzag difference of its time from the previous peak's, in 1/16 frame
//!             u16 LE   pitch + 8, in 1/256 of a quarter-semitone
//!             u8       strength, in 1/16 of a natural-log unit (clamped to 0–255)
//! ```
//!
//! The grid is what [`super::Fingerprint::from_picker`] rounds every peak to, so a fingerprint
//! read back equals the one computed, bit for bit (the comparison tolerances are 1.5 frames and
//! ⅜ semitone: the grid is far finer).

use super::{FINGERPRINT_VERSION, Fingerprint, Peak, landmarks};

/// Time steps per frame.
const FRAME_STEPS: f32 = 16.0;
/// Pitch steps per pitch unit (a quarter-semitone).
const PITCH_STEPS: f32 = 256.0;
/// Added to a pitch before it is stored: refined pitches reach a little below 0.
const PITCH_OFFSET: f32 = 8.0;
/// Strength steps per natural-log unit.
const STRENGTH_STEPS: f32 = 16.0;
/// Bytes before the peaks (version, frames per second, frames).
const HEADER_BYTES: usize = 9;

/// `peak` rounded to the stored grid.
pub fn quantize(peak: Peak) -> Peak {
    let frame_steps = (peak.frame.max(0.0) * FRAME_STEPS).round();
    let pitch_steps = ((peak.pitch + PITCH_OFFSET) * PITCH_STEPS)
        .round()
        .clamp(0.0, f32::from(u16::MAX));
    let strength_steps = (peak.strength * STRENGTH_STEPS).round().clamp(0.0, 255.0);
    Peak {
        frame: frame_steps / FRAME_STEPS,
        pitch: pitch_steps / PITCH_STEPS - PITCH_OFFSET,
        strength: strength_steps / STRENGTH_STEPS,
    }
}

impl Fingerprint {
    /// The stored form (see the module docs). Peaks must be on the grid ([`quantize`]), as
    /// every computed fingerprint's are.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + 2 + self.peaks.len() * 5);
        out.push(FINGERPRINT_VERSION as u8);
        out.extend_from_slice(&self.frames_per_second.to_le_bytes());
        out.extend_from_slice(&self.frames.to_le_bytes());
        write_varint(&mut out, self.peaks.len() as u64);
        let mut previous = 0i64;
        for p in &self.peaks {
            let t = (p.frame * FRAME_STEPS).round() as i64;
            write_varint(&mut out, zigzag(t - previous));
            previous = t;
            let pitch = ((p.pitch + PITCH_OFFSET) * PITCH_STEPS).round() as u16;
            out.extend_from_slice(&pitch.to_le_bytes());
            out.push((p.strength * STRENGTH_STEPS).round() as u8);
        }
        out
    }

    /// Reads a stored fingerprint, checking its version and every length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() < HEADER_BYTES {
            return Err(format!("{} bytes, shorter than its header", bytes.len()));
        }
        if u32::from(bytes[0]) != FINGERPRINT_VERSION {
            return Err(format!(
                "fingerprint version {}, this build reads version {FINGERPRINT_VERSION}",
                bytes[0]
            ));
        }
        let frames_per_second = f32::from_le_bytes(bytes[1..5].try_into().unwrap());
        let frames = u32::from_le_bytes(bytes[5..9].try_into().unwrap());
        if !(frames_per_second.is_finite() && frames_per_second > 0.0) {
            return Err("its frame rate is not a positive number".into());
        }
        let mut at = HEADER_BYTES;
        let count = read_varint(bytes, &mut at)? as usize;
        // At least 4 bytes per peak: a count beyond that is damage, not a reason to allocate.
        if count > (bytes.len() - at) / 4 {
            return Err(format!("{count} peaks announced, the bytes hold fewer"));
        }
        let mut peaks = Vec::with_capacity(count);
        let mut t = 0i64;
        for _ in 0..count {
            t += unzigzag(read_varint(bytes, &mut at)?);
            let Some(rest) = bytes.get(at..at + 3) else {
                return Err("truncated peak".into());
            };
            at += 3;
            let pitch = u16::from_le_bytes([rest[0], rest[1]]);
            peaks.push(Peak {
                frame: t as f32 / FRAME_STEPS,
                pitch: f32::from(pitch) / PITCH_STEPS - PITCH_OFFSET,
                strength: f32::from(rest[2]) / STRENGTH_STEPS,
            });
        }
        if at != bytes.len() {
            return Err(format!("{} bytes after its peaks", bytes.len() - at));
        }
        if peaks.windows(2).any(|w| w[1].frame < w[0].frame) {
            return Err("its peaks are not in time order".into());
        }
        Ok(Fingerprint {
            landmarks: landmarks::landmarks(&peaks),
            peaks,
            frames_per_second,
            frames,
        })
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_varint(bytes: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let Some(&b) = bytes.get(*at) else {
            return Err("truncated number".into());
        };
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("a number longer than 64 bits".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint() -> Fingerprint {
        let mut peaks: Vec<Peak> = (0..500)
            .map(|i| {
                quantize(Peak {
                    frame: i as f32 * 5.3 + (i % 3) as f32 * 0.41,
                    pitch: ((i * 37) % 200) as f32 - 1.7 + (i % 7) as f32 * 0.013,
                    strength: (i % 50) as f32 * 0.31,
                })
            })
            .collect();
        peaks.sort_by(|a, b| a.frame.total_cmp(&b.frame));
        Fingerprint {
            landmarks: landmarks::landmarks(&peaks),
            peaks,
            frames_per_second: 62.5,
            frames: 2700,
        }
    }

    #[test]
    fn a_fingerprint_reads_back_bit_for_bit() {
        let f = fingerprint();
        let bytes = f.to_bytes();
        assert!(bytes.len() < HEADER_BYTES + 2 + f.peaks.len() * 5);
        assert_eq!(Fingerprint::from_bytes(&bytes).unwrap(), f);
    }

    #[test]
    fn quantizing_twice_changes_nothing() {
        for p in fingerprint().peaks {
            assert_eq!(quantize(p), p);
        }
    }

    #[test]
    fn damaged_bytes_are_errors_not_panics() {
        let bytes = fingerprint().to_bytes();
        for cut in [0, 4, HEADER_BYTES, HEADER_BYTES + 1, bytes.len() - 1] {
            assert!(
                Fingerprint::from_bytes(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut wrong_version = bytes.clone();
        wrong_version[0] ^= 0x40;
        assert!(
            Fingerprint::from_bytes(&wrong_version)
                .unwrap_err()
                .contains("version")
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Fingerprint::from_bytes(&longer).is_err());
        let mut huge_count = bytes[..HEADER_BYTES].to_vec();
        write_varint(&mut huge_count, u64::MAX >> 1);
        assert!(Fingerprint::from_bytes(&huge_count).is_err());
    }
}
