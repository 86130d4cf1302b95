//! Audio input: decoding encoded files, downmixing to mono and resampling to the analysis rate.
//!
//! Everything streams: a decoder hands mono blocks at the file's rate to a [`MonoSink`], and
//! [`StreamResampler`] converts them, so an hour-long file never has to be held as PCM.

mod dc_block;
mod decode;
mod flac_guard;
mod mp4_guard;
mod resample;
mod wav_guard;

pub use dc_block::DcBlocker;
pub use decode::{MonoSink, StreamDecoder, decode_bytes, decode_source};
pub use resample::{StreamResampler, resample};

use serde::Serialize;

/// Limits on what the product accepts as audio input.
pub mod limits {
    /// Lowest accepted source sample rate, in Hz.
    pub const MIN_SAMPLE_RATE_HZ: u32 = 4_000;
    /// Highest accepted source sample rate, in Hz.
    pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;
    /// Most channels accepted in one stream.
    pub const MAX_CHANNELS: usize = 32;
    /// Longest input analysed, in seconds (3 hours). Longer input is an error rather than a hang.
    pub const MAX_DURATION_SECONDS: f64 = 3.0 * 3600.0;
}

/// What was learnt about an input while decoding it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceInfo {
    /// Codec short name (e.g. `"mp3"`, `"pcm_s16le"`), or `"pcm"` for raw samples.
    pub codec: String,
    /// The source's sample rate, in Hz.
    pub sample_rate_hz: u32,
    /// The source's channel count.
    pub channels: usize,
    /// Sample frames decoded (per channel), at the source rate.
    pub frames: u64,
    /// Damaged packets that were skipped.
    pub decode_errors: usize,
}

impl SourceInfo {
    /// Decoded duration, in seconds.
    pub fn duration_seconds(&self) -> f64 {
        if self.sample_rate_hz == 0 {
            0.0
        } else {
            self.frames as f64 / f64::from(self.sample_rate_hz)
        }
    }
}

/// Decodes a whole encoded file into mono samples at its own rate.
///
/// Holds the entire signal in memory, so it suits short clips, tests and tools; the analysis
/// path streams instead (see [`crate::frontend::FrontEnd`]).
pub fn decode_mono(
    bytes: Vec<u8>,
    extension: Option<&str>,
) -> crate::Result<(Vec<f32>, SourceInfo)> {
    struct Collect(Vec<f32>);
    impl MonoSink for Collect {
        fn start(&mut self, _rate: u32, _channels: usize) -> crate::Result<()> {
            Ok(())
        }
        fn push(&mut self, mono: &[f32]) -> crate::Result<()> {
            self.0.extend_from_slice(mono);
            Ok(())
        }
    }
    let mut sink = Collect(Vec::new());
    let info = decode_bytes(bytes, extension, &mut sink)?;
    Ok((sink.0, info))
}

/// Averages interleaved `channels`-channel samples into mono, replacing the contents of `mono`.
pub fn downmix_into(interleaved: &[f32], channels: usize, mono: &mut Vec<f32>) {
    mono.clear();
    if channels == 1 {
        mono.extend_from_slice(interleaved);
        return;
    }
    let scale = 1.0 / channels as f32;
    mono.extend(
        interleaved
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() * scale),
    );
}

/// Like [`downmix_into`] for audio held as one slice per channel (planar), all of the same
/// length in frames: the same sums in the same channel order, so the same samples.
pub fn downmix_planes_into(planes: &[&[f32]], mono: &mut Vec<f32>) {
    mono.clear();
    let Some((first, rest)) = planes.split_first() else {
        return;
    };
    mono.extend_from_slice(first);
    if rest.is_empty() {
        return;
    }
    for plane in rest {
        for (m, &s) in mono.iter_mut().zip(plane.iter()) {
            *m += s;
        }
    }
    let scale = 1.0 / planes.len() as f32;
    for m in mono.iter_mut() {
        *m *= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        let mut mono = vec![9.0];
        downmix_into(&[1.0, 3.0, -1.0, 1.0], 2, &mut mono);
        assert_eq!(mono, vec![2.0, 0.0]);
        downmix_into(&[0.5, 0.25], 1, &mut mono);
        assert_eq!(mono, vec![0.5, 0.25]);
    }

    #[test]
    fn planar_downmix_gives_the_interleaved_samples() {
        // Values whose sums round: the order of the additions shows in the bits.
        let planes: Vec<Vec<f32>> = (0..3)
            .map(|c| {
                (0..257)
                    .map(|i| ((i * 7 + c * 13) as f32).sin() * 0.3)
                    .collect()
            })
            .collect();
        for channels in 1..=3 {
            let interleaved: Vec<f32> = (0..257)
                .flat_map(|i| planes[..channels].iter().map(move |p| p[i]))
                .collect();
            let (mut a, mut b) = (vec![1.0], vec![2.0]);
            downmix_into(&interleaved, channels, &mut a);
            let refs: Vec<&[f32]> = planes[..channels].iter().map(|p| &p[..]).collect();
            downmix_planes_into(&refs, &mut b);
            assert_eq!(a.len(), 257);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "{channels} channels");
        }
    }
}
