//! Decoding of encoded audio (WAV, MP3, Ogg Vorbis, FLAC, AAC/M4A) with symphonia, streamed as
//! mono blocks at the file's own sample rate: all at once ([`decode_source`]) or a few packets
//! per call ([`StreamDecoder`], for progress and cancellation in the browser).

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use symphonia::core::audio::{AudioBufferRef, SampleBuffer, Signal};
use symphonia::core::codecs::{CODEC_TYPE_NULL, Decoder, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::limits::{MAX_CHANNELS, MAX_SAMPLE_RATE_HZ, MIN_SAMPLE_RATE_HZ};
use super::{SourceInfo, downmix_into, downmix_planes_into};
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
    let mut decoder = StreamDecoder::open(source, extension)?;
    while decoder.decode_some(sink, f64::INFINITY)? {}
    decoder.finish()
}

/// Runs `f`, turning a panic inside symphonia into [`Error::CorruptAudio`] (natively; in wasm a
/// panic aborts the instance, see [`decode_source`]).
fn guarded<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(Error::CorruptAudio(format!(
            "the decoder failed on this file ({})",
            crate::error::panic_message(&*panic)
        )))
    })
}

/// A media source that records how far it has been read, for progress reports.
struct CountingSource {
    inner: Box<dyn MediaSource>,
    position: Arc<AtomicU64>,
}

impl std::io::Read for CountingSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.position.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl std::io::Seek for CountingSource {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        let at = self.inner.seek(pos)?;
        self.position.store(at, Ordering::Relaxed);
        Ok(at)
    }
}

impl MediaSource for CountingSource {
    fn is_seekable(&self) -> bool {
        self.inner.is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len()
    }
}

/// An encoded stream decoded a few packets at a time ("pull" mode), so that a caller (the
/// browser's worker) can report progress and stop between calls.
pub struct StreamDecoder {
    format: Box<dyn FormatReader>,
    decoder: Box<dyn Decoder>,
    track_id: u32,
    /// Frames per channel the container announces, when it does.
    expected_frames: Option<u64>,
    byte_len: Option<u64>,
    position: Arc<AtomicU64>,
    info: SourceInfo,
    /// Reused between packets; rebuilt only when a packet is larger or has other channels.
    interleaved: Option<(SampleBuffer<f32>, usize)>,
    mono: Vec<f32>,
    packets_ok: usize,
    ended: bool,
}

impl std::fmt::Debug for StreamDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecoder")
            .field("info", &self.info)
            .finish()
    }
}

impl StreamDecoder {
    /// Checks the container's headers, probes the format and sets up the codec. `extension`
    /// (e.g. `"mp3"`) is only a hint; the content decides.
    pub fn open(source: Box<dyn MediaSource>, extension: Option<&str>) -> Result<Self> {
        guarded(|| Self::open_unguarded(source, extension))
    }

    fn open_unguarded(mut source: Box<dyn MediaSource>, extension: Option<&str>) -> Result<Self> {
        let byte_len = source.byte_len();
        if byte_len == Some(0) {
            return Err(Error::EmptyInput);
        }
        super::flac_guard::check_flac_metadata(&mut source, byte_len)?;
        super::mp4_guard::check_mp4_sample_sizes(&mut source, byte_len)?;
        let source = super::wav_guard::fix_wav_sizes(source, byte_len);
        let position = Arc::new(AtomicU64::new(0));
        let counted = CountingSource {
            inner: source,
            position: Arc::clone(&position),
        };
        let stream = MediaSourceStream::new(Box::new(counted), Default::default());
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
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or(Error::NoAudio)?;
        let track_id = track.id;
        let expected_frames = track.codec_params.n_frames.filter(|&n| n > 0);
        let codec = symphonia::default::get_codecs()
            .get_codec(track.codec_params.codec)
            .map(|d| d.short_name.to_string())
            .unwrap_or_else(|| "unknown".into());
        let decoder = symphonia::default::get_codecs()
            .make(&track.codec_params, &DecoderOptions::default())
            .map_err(|e| Error::UnsupportedFormat(format!("codec {codec}: {e}")))?;
        Ok(StreamDecoder {
            format,
            decoder,
            track_id,
            expected_frames,
            byte_len,
            position,
            info: SourceInfo {
                codec,
                ..SourceInfo::default()
            },
            interleaved: None,
            mono: Vec::new(),
            packets_ok: 0,
            ended: false,
        })
    }

    /// Decodes packets into `sink` until at least `seconds` of audio were delivered (at least
    /// one packet) or the stream ended. Returns `false` once it has ended.
    pub fn decode_some(&mut self, sink: &mut dyn MonoSink, seconds: f64) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        guarded(|| {
            let start = self.info.frames;
            // The rate is known after the first packet; until then, decode one packet.
            let wanted = |rate: u32| (seconds * f64::from(rate)).max(1.0) as u64;
            while self.info.frames - start < wanted(self.info.sample_rate_hz) {
                if !self.decode_packet(sink)? {
                    self.ended = true;
                    return Ok(false);
                }
            }
            Ok(true)
        })
    }

    /// How much of the input has been decoded, 0..=1: by frames when the container says how
    /// many there are, else by bytes read; `None` when neither is known.
    pub fn fraction_done(&self) -> Option<f64> {
        if self.ended {
            return Some(1.0);
        }
        let fraction = match (self.expected_frames, self.byte_len) {
            (Some(n), _) => self.info.frames as f64 / n as f64,
            (None, Some(len)) if len > 0 => {
                self.position.load(Ordering::Relaxed) as f64 / len as f64
            }
            _ => return None,
        };
        Some(fraction.clamp(0.0, 1.0))
    }

    /// What was learnt about the source; an error when nothing could be decoded.
    pub fn finish(self) -> Result<SourceInfo> {
        if self.info.frames == 0 {
            return Err(if self.info.decode_errors > 0 {
                Error::CorruptAudio("no packet could be decoded".into())
            } else {
                Error::NoAudio
            });
        }
        Ok(self.info)
    }

    /// Decodes the next packet of the track; `false` at the end of the stream (or of the data,
    /// for a truncated file: what was decoded is kept).
    fn decode_packet(&mut self, sink: &mut dyn MonoSink) -> Result<bool> {
        let info = &mut self.info;
        let packet = match self.format.next_packet() {
            Ok(p) => p,
            // End of stream, or a truncated file: keep what was decoded.
            Err(SymphoniaError::IoError(_)) => return Ok(false),
            Err(SymphoniaError::ResetRequired) => return Ok(false),
            Err(e) => {
                if self.packets_ok == 0 {
                    return Err(Error::CorruptAudio(e.to_string()));
                }
                info.decode_errors += 1;
                return Ok(false);
            }
        };
        if packet.track_id() != self.track_id {
            return Ok(true);
        }
        let decoded = match self.decoder.decode(&packet) {
            Ok(d) => d,
            // A damaged packet: skip it, as players do, but count it.
            Err(SymphoniaError::DecodeError(_)) => {
                info.decode_errors += 1;
                if info.decode_errors > 64 && info.decode_errors > self.packets_ok {
                    return Err(Error::CorruptAudio(format!(
                        "{} of {} packets could not be decoded",
                        info.decode_errors,
                        info.decode_errors + self.packets_ok
                    )));
                }
                return Ok(true);
            }
            Err(SymphoniaError::IoError(_)) => return Ok(false),
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
        if decoded.frames() == 0 {
            return Ok(true);
        }
        if let AudioBufferRef::F32(planar) = &decoded {
            // MP3, Vorbis and AAC decode to planar f32: average the channels straight from
            // their planes, without first interleaving a copy (the same sums in the same order
            // as `downmix_into`, so the same samples).
            let planes: Vec<&[f32]> = (0..channels).map(|c| planar.chan(c)).collect();
            downmix_planes_into(&planes, &mut self.mono);
        } else {
            let buf = match &mut self.interleaved {
                Some((b, c)) if *c == channels && b.capacity() >= decoded.capacity() * channels => {
                    b
                }
                slot => {
                    &mut slot
                        .insert((SampleBuffer::new(decoded.capacity() as u64, spec), channels))
                        .0
                }
            };
            buf.copy_interleaved_ref(decoded);
            downmix_into(buf.samples(), channels, &mut self.mono);
        }
        info.frames += self.mono.len() as u64;
        self.packets_ok += 1;
        sink.push(&self.mono)?;
        Ok(true)
    }
}
