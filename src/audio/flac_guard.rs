//! A check of FLAC metadata before symphonia reads it.
//!
//! symphonia 0.5 allocates a FLAC PICTURE block's buffers at the sizes the block declares, so a
//! damaged or hostile file can ask for gigabytes (found by `fuzz/fuzz_targets/audio_decode.rs`:
//! a 5 kB file requested a 2.3 GB buffer). In wasm that aborts the worker. This walks the
//! metadata blocks first and refuses sizes that the block, or the file, cannot hold.

use std::io::{Read, Seek, SeekFrom};

use crate::error::{Error, Result};

/// FLAC metadata block type of embedded pictures.
const PICTURE: u8 = 6;

/// Checks the metadata blocks of a stream that starts with `fLaC`; other streams pass
/// untouched. Leaves the stream at its start.
pub fn check_flac_metadata<S: Read + Seek + ?Sized>(
    source: &mut S,
    byte_len: Option<u64>,
) -> Result<()> {
    let result = walk(source, byte_len);
    source
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::CorruptAudio(e.to_string()))?;
    result
}

fn walk<S: Read + Seek + ?Sized>(source: &mut S, byte_len: Option<u64>) -> Result<()> {
    let corrupt = |why: String| Err(Error::CorruptAudio(format!("FLAC metadata: {why}")));
    let mut magic = [0u8; 4];
    if source.read_exact(&mut magic).is_err() || &magic != b"fLaC" {
        return Ok(());
    }
    let mut offset = 4u64;
    loop {
        let mut header = [0u8; 4];
        if source.read_exact(&mut header).is_err() {
            return Ok(()); // truncated: symphonia reports it
        }
        let last = header[0] & 0x80 != 0;
        let kind = header[0] & 0x7f;
        let len = u32::from_be_bytes([0, header[1], header[2], header[3]]) as u64;
        offset += 4;
        if let Some(total) = byte_len
            && offset + len > total
        {
            return corrupt(format!(
                "the file ends inside a metadata block (truncated or damaged file): the block declares {len} bytes, {} remain",
                total - offset
            ));
        }
        if kind == PICTURE {
            // len < 16 MiB (24-bit field), so reading the block is bounded.
            let mut block = Vec::new();
            Read::take(&mut *source, len)
                .read_to_end(&mut block)
                .map_err(|e| Error::CorruptAudio(e.to_string()))?;
            check_picture(&block)?;
        } else {
            source
                .seek(SeekFrom::Current(len as i64))
                .map_err(|e| Error::CorruptAudio(e.to_string()))?;
        }
        offset += len;
        if last {
            return Ok(());
        }
    }
}

/// PICTURE: type, MIME (length-prefixed), description (length-prefixed), 4 × u32, data
/// (length-prefixed); every length must fit in what is left of the block.
fn check_picture(block: &[u8]) -> Result<()> {
    let mut at = 4usize; // picture type
    for field in ["MIME type", "description"] {
        let len = read_u32(block, at)? as usize;
        at += 4;
        if len > block.len().saturating_sub(at) {
            return Err(Error::CorruptAudio(format!(
                "FLAC metadata: a picture's {field} declares {len} bytes, the block holds {}",
                block.len().saturating_sub(at)
            )));
        }
        at += len;
    }
    at += 16; // width, height, depth, colours
    let len = read_u32(block, at)? as usize;
    at += 4;
    if len > block.len().saturating_sub(at) {
        return Err(Error::CorruptAudio(format!(
            "FLAC metadata: a picture declares {len} bytes of data, the block holds {}",
            block.len().saturating_sub(at)
        )));
    }
    Ok(())
}

fn read_u32(block: &[u8], at: usize) -> Result<u32> {
    block
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| Error::CorruptAudio("FLAC metadata: a picture block is cut short".into()))
}
