//! Decoding of encoded audio (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A) with symphonia, streamed as
//! mono blocks at the file's own sample rate.

use std::io::Cursor;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::limits::{MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use super::{SourceInfo, downmix_into};
use crate::error::{Error, Result};

/// Receives decoded audio, block by block.
pub trait MonoSink {
    /// Called once before the first block with the stream's sample rate (Hz) and channel count.
    fn start(&mut self, sample_rate_hz: u32, channels: usize) -> Result<()>;
    /// One block of mono samples at the rate given to [`MonoSink::start`].
    fn push(&mut self, mono: &[f32]) -> Result<()>;
}

/// Decodes the encoded file in `bytes` and streams it, downmixed to mono, into `sink`.
///
/// `extension` (e.g. `"mp3"`) is only a hint; the content decides. Truncated files decode up to
/// where the data stops. Returns what was learnt about the source.
pub fn decode_bytes(
    bytes: Vec<u8>,
    extension: Option<&str>,
    sink: &mut dyn MonoSink,
) -> Result<SourceInfo> {
    if bytes.is_empty() {
        return Err(Error::EmptyInput);
    }
    decode_source(Box::new(Cursor::new(bytes)), extension, sink)
}

/// Decodes from any symphonia media source (an open file natively, bytes in the browser).
///
/// symphonia 0.5 can panic on malformed streams (fuzzing found an index out of bounds in its
/// AAC decoder). Natively the panic is caught and reported as corrupt audio, so one bad file
/// cannot stop an indexing run. In wasm a panic aborts the instance; the page's worker is then
/// replaced (see `www/engine-client.js`).
pub fn decode_source(
    source: Box<dyn MediaSource>,
    extension: Option<&str>,
    sink: &mut dyn MonoSink,
) -> Result<SourceInfo> {
    let run = std::panic::AssertUnwindSafe(|| decode_unguarded(source, extension, sink));
    std::panic::catch_unwind(run).unwrap_or_else(|panic| {
        Err(Error::CorruptAudio(format!(
            "the decoder failed on this file ({})",
            crate::error::panic_message(&*panic)
        )))
    })
}

fn decode_unguarded(
    mut source: Box<dyn MediaSource>,
    extension: Option<&str>,
    sink: &mut dyn MonoSink,
) -> Result<SourceInfo> {
    let byte_len = source.byte_len();
    super::flac_guard::check_flac_metadata(&mut source, byte_len)?;
    super::mp4_guard::check_mp4_sample_sizes(&mut source, byte_len)?;
    let source = super::wav_guard::fix_wav_sizes(source, byte_len);
    let stream = MediaSourceStream::new(source, Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| match e {
            SymphoniaError::Unsupported(what) => Error::UnsupportedFormat(what.to_string()),
            // The probe ran out of data: a file cut short before its audio starts.
            SymphoniaError::IoError(_) => Error::CorruptAudio(
                "the data ends before any audio could be read (truncated file?)".into(),
            ),
            other => Error::CorruptAudio(other.to_string()),
        })?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or(Error::NoAudio)?;
    let track_id = track.id;
    let codec = symphonia::default::get_codecs()
        .get_codec(track.codec_params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| "unknown".into());
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| Error::UnsupportedFormat(format!("codec {codec}: {e}")))?;

    let mut info = SourceInfo {
        codec,
        ..SourceInfo::default()
    };
    // Reused between packets; rebuilt only when a packet is larger or has other channels.
    let mut interleaved: Option<(SampleBuffer<f32>, usize)> = None;
    let mut mono = Vec::new();
    let mut packets_ok = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            // End of stream, or a truncated file: keep what was decoded.
            Err(SymphoniaError::IoError(_)) => break,
            Err(SymphoniaError::ResetRequired) => break,
            Err(e) => {
                if packets_ok == 0 {
                    return Err(Error::CorruptAudio(e.to_string()));
                }
                info.decode_errors += 1;
                break;
            }
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            // A damaged packet: skip it, as players do, but count it.
            Err(SymphoniaError::DecodeError(_)) => {
                info.decode_errors += 1;
                if info.decode_errors > 64 && info.decode_errors > packets_ok {
                    return Err(Error::CorruptAudio(format!(
                        "{} of {} packets could not be decoded",
                        info.decode_errors,
                        info.decode_errors + packets_ok
                    )));
                }
                continue;
            }
            Err(SymphoniaError::IoError(_)) => break,
            Err(e) => return Err(Error::CorruptAudio(e.to_string())),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count();
        if info.sample_rate_hz == 0 {
            if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&spec.rate) {
                return Err(Error::AbsurdAudio(format!(
                    "sample rate {} Hz is outside {MIN_SAMPLE_RATE_HZ}..={MAX_SAMPLE_RATE_HZ} Hz",
                    spec.rate
                )));
            }
            if channels == 0 || channels > MAX_CHANNELS {
                return Err(Error::AbsurdAudio(format!(
                    "{channels} channels (at most {MAX_CHANNELS} supported)"
                )));
            }
            info.sample_rate_hz = spec.rate;
            info.channels = channels;
            sink.start(spec.rate, channels)?;
        } else if spec.rate != info.sample_rate_hz {
            return Err(Error::AbsurdAudio(format!(
                "the sample rate changes mid-stream ({} Hz → {} Hz)",
                info.sample_rate_hz, spec.rate
            )));
        }
        let frames = decoded.frames();
        if frames == 0 {
            continue;
        }
        let buf = match &mut interleaved {
            Some((b, c)) if *c == channels && b.capacity() >= decoded.capacity() * channels => b,
            slot => {
                &mut slot
                    .insert((SampleBuffer::new(decoded.capacity() as u64, spec), channels))
                    .0
            }
        };
        buf.copy_interleaved_ref(decoded);
        downmix_into(buf.samples(), channels, &mut mono);
        info.frames += mono.len() as u64;
        packets_ok += 1;
        sink.push(&mono)?;
    }
    if info.frames == 0 {
        return Err(if info.decode_errors > 0 {
            Error::CorruptAudio("no packet could be decoded".into())
        } else {
            Error::NoAudio
        });
    }
    Ok(info)
}
