//! Repair of WAV chunk sizes that do not fit the file, before symphonia reads it.
//!
//! Recorders and encoders writing to a pipe cannot go back to fill in sizes, so real WAV files
//! arrive with a `data` chunk that claims 0xFFFFFFFF bytes (or more than the file holds), or a
//! `RIFF` size that is too large. symphonia 0.5 refuses those ("chunk length exceeds parent
//! chunk length") where players simply read to the end of the file. This walks the chunk list
//! and, where the last `data` chunk or the `RIFF` size overruns the file, presents the sizes the
//! file actually has, through [`Patched`], without copying the audio.

use std::io::{Read, Seek, SeekFrom};

use symphonia::core::io::MediaSource;

/// A media source with a few bytes replaced (the corrected size fields).
pub struct Patched {
    inner: Box<dyn MediaSource>,
    /// (offset in bytes, little-endian u32 to show there)
    patches: Vec<(u64, [u8; 4])>,
    position: u64,
}

/// Returns `source` with the `RIFF` and `data` sizes of a WAV file clamped to what the file
/// holds, or `source` untouched when it is not a WAV file or its sizes already fit. `byte_len`
/// is the file's length in bytes (unknown length: untouched).
pub fn fix_wav_sizes(
    mut source: Box<dyn MediaSource>,
    byte_len: Option<u64>,
) -> Box<dyn MediaSource> {
    let Some(len) = byte_len else { return source };
    let patches = find_patches(&mut source, len).unwrap_or_default();
    if source.seek(SeekFrom::Start(0)).is_err() || patches.is_empty() {
        return source;
    }
    Box::new(Patched {
        inner: source,
        patches,
        position: 0,
    })
}

fn find_patches(
    source: &mut Box<dyn MediaSource>,
    len: u64,
) -> std::io::Result<Vec<(u64, [u8; 4])>> {
    let mut header = [0u8; 12];
    source.read_exact(&mut header)?;
    if &header[0..4] != b"RIFF" || &header[8..12] != b"WAVE" {
        return Ok(Vec::new());
    }
    let mut patches = Vec::new();
    let riff_size = u32::from_le_bytes(header[4..8].try_into().unwrap()) as u64;
    if riff_size + 8 > len {
        patches.push((4, size_field(len - 8)));
    }
    // Walk the chunks: id (4 bytes), size (4 bytes, little-endian), body padded to even length.
    let mut offset = 12u64;
    while offset + 8 <= len {
        let mut chunk = [0u8; 8];
        source.seek(SeekFrom::Start(offset))?;
        source.read_exact(&mut chunk)?;
        let size = u32::from_le_bytes(chunk[4..8].try_into().unwrap()) as u64;
        let body = offset + 8;
        if &chunk[0..4] == b"data" {
            // A streamed file: the audio runs to the end of the file whatever the size says.
            if size == 0 || body + size > len {
                patches.push((offset + 4, size_field(len - body)));
            }
            break;
        }
        offset = body + size + (size & 1);
    }
    Ok(patches)
}

fn size_field(bytes: u64) -> [u8; 4] {
    (bytes.min(u32::MAX as u64) as u32).to_le_bytes()
}

impl Read for Patched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let start = self.position;
        for (at, bytes) in &self.patches {
            for (i, b) in bytes.iter().enumerate() {
                let pos = at + i as u64;
                if pos >= start && pos < start + n as u64 {
                    buf[(pos - start) as usize] = *b;
                }
            }
        }
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for Patched {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.position = self.inner.seek(pos)?;
        Ok(self.position)
    }
}

impl MediaSource for Patched {
    fn is_seekable(&self) -> bool {
        self.inner.is_seekable()
    }

    fn byte_len(&self) -> Option<u64> {
        self.inner.byte_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn wav(data_size: u32, riff_size: u32, samples: usize) -> Vec<u8> {
        let mut b = b"RIFF".to_vec();
        b.extend_from_slice(&riff_size.to_le_bytes());
        b.extend_from_slice(b"WAVEfmt ");
        b.extend_from_slice(&16u32.to_le_bytes());
        b.extend_from_slice(&[1, 0, 1, 0, 0x80, 0x3e, 0, 0, 0, 0x7d, 0, 0, 2, 0, 16, 0]);
        b.extend_from_slice(b"data");
        b.extend_from_slice(&data_size.to_le_bytes());
        b.extend(std::iter::repeat_n(7u8, samples * 2));
        b
    }

    fn read_all(bytes: Vec<u8>) -> Vec<u8> {
        let len = bytes.len() as u64;
        let mut s = fix_wav_sizes(Box::new(Cursor::new(bytes)), Some(len));
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn streamed_sizes_are_clamped_to_the_file() {
        let out = read_all(wav(u32::MAX, u32::MAX, 100));
        assert_eq!(u32::from_le_bytes(out[4..8].try_into().unwrap()), 36 + 200);
        assert_eq!(u32::from_le_bytes(out[40..44].try_into().unwrap()), 200);
        assert!(out[44..].iter().all(|&b| b == 7), "the audio is untouched");
        let out = read_all(wav(0, 36 + 200, 100));
        assert_eq!(u32::from_le_bytes(out[40..44].try_into().unwrap()), 200);
    }

    #[test]
    fn honest_files_and_other_formats_pass_untouched() {
        let honest = wav(200, 236, 100);
        assert_eq!(read_all(honest.clone()), honest);
        let not_wav = b"fLaC and more bytes".to_vec();
        assert_eq!(read_all(not_wav.clone()), not_wav);
    }
}
