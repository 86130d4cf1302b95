//! A check of MP4 (M4A/AAC) box sizes and sample tables before symphonia reads them.
//!
//! symphonia 0.5's MP4 reader allocates buffers at the sizes the file declares before reading
//! them: each packet at its sample-size table (`stsz`) entry, and the bodies of `hdlr`, `esds`,
//! `ilst` items and others at their box sizes. Damaged or hostile 8 kB files declared a 2.9 GB
//! sample and a 3.1 GB `hdlr` (found by `fuzz/fuzz_targets/audio_decode.rs`); in wasm that
//! exhausts memory and kills the worker. No box can be larger than its parent and no sample
//! larger than the file, so this walks the box tree and refuses sizes that do not fit. (The
//! top-level `mdat` may run past the end: a truncated download still decodes up to the cut.)

use std::io::{Read, Seek, SeekFrom};

use crate::error::{Error, Result};

/// Boxes whose body is a list of boxes, with the bytes that come before that list.
fn children_offset(kind: &[u8; 4], parent: Option<&[u8; 4]>) -> Option<u64> {
    match kind {
        b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"udta" | b"edts" | b"dinf" | b"mvex"
        | b"moof" | b"traf" | b"ilst" => Some(0),
        b"meta" => Some(4),                                // version and flags
        b"stsd" => Some(8),                                // version, flags, entry count
        b"mp4a" | b"alac" | b"fLaC" | b"Opus" => Some(28), // audio sample entry fields
        // Items of `ilst` (©nam, trkn, ...) hold `data` boxes.
        _ if parent == Some(b"ilst") => Some(0),
        _ => None,
    }
}

/// Most boxes visited: a real file has a few dozen; this bounds the walk on garbage.
const MAX_BOXES: usize = 10_000;

/// Checks the sample sizes of a stream whose second box is `ftyp` (an MP4 file); other streams
/// pass untouched. Leaves the stream at its start.
pub fn check_mp4_sample_sizes<S: Read + Seek + ?Sized>(
    source: &mut S,
    byte_len: Option<u64>,
) -> Result<()> {
    let result = match byte_len {
        Some(len) if is_mp4(source)? => walk(source, 0, len, len, None, &mut 0),
        _ => Ok(()),
    };
    source
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::CorruptAudio(e.to_string()))?;
    result
}

fn is_mp4<S: Read + Seek + ?Sized>(source: &mut S) -> Result<bool> {
    let mut head = [0u8; 8];
    let ok = source.read_exact(&mut head).is_ok() && &head[4..8] == b"ftyp";
    Ok(ok)
}

/// Walks the boxes in `start..end` (bytes) of box `parent` (None: the file); `file_len` bounds
/// every sample.
fn walk<S: Read + Seek + ?Sized>(
    source: &mut S,
    start: u64,
    end: u64,
    file_len: u64,
    parent: Option<&[u8; 4]>,
    visited: &mut usize,
) -> Result<()> {
    let mut offset = start;
    while offset + 8 <= end {
        *visited += 1;
        if *visited > MAX_BOXES {
            return Ok(());
        }
        let mut header = [0u8; 8];
        if read_at(source, offset, &mut header).is_err() {
            return Ok(()); // truncated: symphonia reports it
        }
        let mut size = u64::from(u32::from_be_bytes(header[0..4].try_into().unwrap()));
        let mut body = offset + 8;
        if size == 1 {
            let mut large = [0u8; 8];
            if read_at(source, body, &mut large).is_err() {
                return Ok(());
            }
            size = u64::from_be_bytes(large);
            body += 8;
        } else if size == 0 {
            size = end - offset; // to the end of the enclosing box
        }
        let kind: &[u8; 4] = header[4..8].try_into().unwrap();
        let declared_end = offset.saturating_add(size);
        if declared_end > end && !(parent.is_none() && kind == b"mdat") {
            return Err(Error::CorruptAudio(format!(
                "MP4 box `{}` declares {size} bytes, only {} remain in {} (damaged or truncated file)",
                String::from_utf8_lossy(kind),
                end - offset,
                parent.map_or("the file".into(), |p| format!(
                    "`{}`",
                    String::from_utf8_lossy(p)
                )),
            )));
        }
        let box_end = declared_end.min(end);
        if box_end < body {
            return Ok(()); // a box smaller than its header: symphonia reports it
        }
        if let Some(skip) = children_offset(kind, parent) {
            walk(source, body + skip, box_end, file_len, Some(kind), visited)?;
        } else if kind == b"stsz" {
            check_stsz(source, body, box_end, file_len)?;
        } else if let Some(entry_bytes) = table_entry_bytes(kind) {
            check_table_count(source, kind, body, box_end, entry_bytes)?;
        }
        offset = box_end;
    }
    Ok(())
}

/// Sample tables that symphonia reserves `entry count` entries for before reading them, with
/// the size of one entry in bytes.
fn table_entry_bytes(kind: &[u8; 4]) -> Option<u64> {
    match kind {
        b"stts" | b"co64" => Some(8),
        b"stsc" => Some(12),
        b"stco" => Some(4),
        _ => None,
    }
}

/// Version and flags (4 bytes), the entry count, then the entries: the count must fit the box.
fn check_table_count<S: Read + Seek + ?Sized>(
    source: &mut S,
    kind: &[u8; 4],
    body: u64,
    end: u64,
    entry_bytes: u64,
) -> Result<()> {
    let mut head = [0u8; 8];
    if read_at(source, body, &mut head).is_err() {
        return Ok(());
    }
    let count = u64::from(u32::from_be_bytes(head[4..8].try_into().unwrap()));
    entries_fit(kind, count, end.saturating_sub(body + 8) / entry_bytes)
}

/// A table declaring `count` entries where its box has room for `room`.
fn entries_fit(kind: &[u8; 4], count: u64, room: u64) -> Result<()> {
    if count > room {
        return Err(Error::CorruptAudio(format!(
            "MP4 table `{}` declares {count} entries, its box holds {room}",
            String::from_utf8_lossy(kind)
        )));
    }
    Ok(())
}

/// `stsz`: version and flags (4 bytes), a uniform sample size (0: per-sample sizes follow),
/// the sample count, then the sizes; each u32 big-endian, in bytes.
fn check_stsz<S: Read + Seek + ?Sized>(
    source: &mut S,
    body: u64,
    end: u64,
    file_len: u64,
) -> Result<()> {
    let mut head = [0u8; 12];
    if read_at(source, body, &mut head).is_err() {
        return Ok(());
    }
    let uniform = u64::from(u32::from_be_bytes(head[4..8].try_into().unwrap()));
    let too_large = |size: u64| {
        Err(Error::CorruptAudio(format!(
            "MP4 sample table: a sample declares {size} bytes, the whole file has {file_len}"
        )))
    };
    if uniform > file_len {
        return too_large(uniform);
    }
    if uniform == 0 {
        let count = u64::from(u32::from_be_bytes(head[8..12].try_into().unwrap()));
        entries_fit(b"stsz", count, end.saturating_sub(body + 12) / 4)?;
        let mut sizes = vec![0u8; (count * 4) as usize];
        if read_at(source, body + 12, &mut sizes).is_err() {
            return Ok(());
        }
        if let Some(size) = sizes
            .chunks_exact(4)
            .map(|b| u64::from(u32::from_be_bytes(b.try_into().unwrap())))
            .find(|&s| s > file_len)
        {
            return too_large(size);
        }
    }
    Ok(())
}

fn read_at<S: Read + Seek + ?Sized>(
    source: &mut S,
    at: u64,
    buf: &mut [u8],
) -> std::io::Result<()> {
    source.seek(SeekFrom::Start(at))?;
    source.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    fn file_with_sizes(uniform: u32, sizes: &[u32]) -> Vec<u8> {
        let mut stsz = vec![0u8; 4];
        stsz.extend_from_slice(&uniform.to_be_bytes());
        stsz.extend_from_slice(&(sizes.len() as u32).to_be_bytes());
        sizes
            .iter()
            .for_each(|s| stsz.extend_from_slice(&s.to_be_bytes()));
        let mut inner = mp4_box(b"stsz", &stsz);
        for kind in [b"stbl", b"minf", b"mdia", b"trak", b"moov"] {
            inner = mp4_box(kind, &inner);
        }
        let mut file = mp4_box(b"ftyp", b"M4A \0\0\0\0");
        file.extend(mp4_box(b"free", b"")); // empty boxes are fine
        file.extend(inner);
        file.extend(mp4_box(b"mdat", &[0u8; 600]));
        file
    }

    fn check(bytes: Vec<u8>) -> Result<()> {
        let len = bytes.len() as u64;
        let mut c = Cursor::new(bytes);
        let r = check_mp4_sample_sizes(&mut c, Some(len));
        assert_eq!(c.position(), 0, "left at the start");
        r
    }

    #[test]
    fn samples_larger_than_the_file_are_refused() {
        assert!(check(file_with_sizes(0, &[200, 300, 100])).is_ok());
        let err = check(file_with_sizes(0, &[200, 2_902_589_952, 100])).unwrap_err();
        assert!(
            err.to_string().contains("declares 2902589952 bytes"),
            "{err}"
        );
        assert!(
            check(file_with_sizes(3_000_000, &[])).is_err(),
            "uniform size"
        );
        // A count that lies about the entries (symphonia would reserve room for all of them).
        let mut lying = file_with_sizes(0, &[10]);
        let at = lying.windows(4).position(|w| w == b"stsz").unwrap() + 12;
        lying[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        let err = check(lying).unwrap_err().to_string();
        assert!(
            err.contains("`stsz` declares 4294967295 entries, its box holds 1"),
            "{err}"
        );
    }

    #[test]
    fn boxes_larger_than_their_parent_are_refused() {
        let mut file = file_with_sizes(0, &[10]);
        let at = file.windows(4).position(|w| w == b"stsz").unwrap() - 4;
        file[at..at + 4].copy_from_slice(&3_087_007_757u32.to_be_bytes());
        let err = check(file).unwrap_err().to_string();
        assert!(
            err.contains("box `stsz` declares 3087007757 bytes") && err.contains("in `stbl`"),
            "{err}"
        );
        // A truncated download: `mdat` runs past the end of the file, which is fine.
        let mut cut = file_with_sizes(0, &[10]);
        cut.truncate(cut.len() - 100);
        assert!(check(cut).is_ok());
    }

    #[test]
    fn other_formats_pass_untouched() {
        assert!(check(b"fLaC and more bytes".to_vec()).is_ok());
        assert!(check(Vec::new()).is_ok());
    }
}
