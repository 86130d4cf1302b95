//! The index file: a fixed header, then a `bincode` 2 payload protected by an XXH3-128 checksum.
//!
//! ```text
//! offset  size  field
//!      0     8  magic  b"SIMSIDX\x1a"
//!      8     4  format version, u32 little-endian (FORMAT_VERSION)
//!     12     4  reserved, 0
//!     16     8  payload length in bytes, u64 little-endian
//!     24    16  XXH3-128 of the payload, little-endian
//!     40     …  payload: bincode 2 (standard config, serde) of
//!               (IndexHeader, Vec<TrackMeta>, VectorStore, SegmentTable, FingerprintTable,
//!               VersionTable)
//! ```
//!
//! Reading checks, in order and before decoding anything: the length of the file against the
//! header, the magic, the version (a newer file gets [`Error::IndexVersion`]), the payload
//! length against the bytes present (truncation), and the checksum (damage in transit or on
//! disk). The checksum is XXH3 rather than SHA-256 because it only has to catch accidents, at
//! ~10 GB/s instead of ~0.3 GB/s natively (less in wasm): loading a 455 MB index spent most of
//! its time hashing. Authenticity is the host's job (HTTPS, Subresource Integrity; SECURITY.md).
//! Decoding then runs under a byte limit of the same order as the payload, so no length field
//! can make the loader allocate more than a small multiple of the file's size. Finally
//! [`CatalogIndex::from_parts`] checks every invariant and the analysis numbers.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use super::{
    CatalogIndex, FingerprintTable, IndexHeader, SegmentTable, TrackMeta, VectorStore, VersionTable,
};
use crate::error::{Error, Result};

/// First eight bytes of every index file.
pub const MAGIC: [u8; 8] = *b"SIMSIDX\x1a";
/// The format version this build writes and reads (5: version links, `version_of` no longer
/// in the track metadata; 4: audio fingerprints, and the versions a store declares; 3: the header names the tempo estimator's version; 2: tracks carry their
/// predicted tempo).
pub const FORMAT_VERSION: u32 = 5;
/// Bytes before the payload.
pub const HEADER_LEN: usize = 40;

#[derive(Serialize)]
struct PayloadRef<'a>(
    &'a IndexHeader,
    &'a [TrackMeta],
    &'a VectorStore,
    &'a SegmentTable,
    &'a FingerprintTable,
    &'a VersionTable,
);

#[derive(Deserialize)]
struct Payload(
    IndexHeader,
    Vec<TrackMeta>,
    VectorStore,
    SegmentTable,
    FingerprintTable,
    VersionTable,
);

impl CatalogIndex {
    /// Serialises the index to its file form.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = bincode::serde::encode_to_vec(
            PayloadRef(
                &self.header,
                &self.tracks,
                &self.embeddings,
                &self.segments,
                &self.fingerprints,
                &self.versions,
            ),
            bincode::config::standard(),
        )
        .map_err(|e| Error::InvalidIndex(format!("cannot encode: {e}")))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&checksum(&payload));
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Reads an index from its file form, validating everything (see the module docs).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        check_header(&bytes[..bytes.len().min(HEADER_LEN)], bytes.len() as u64)?;
        let payload = &bytes[HEADER_LEN..];
        if checksum(payload)[..] != bytes[24..HEADER_LEN] {
            return Err(checksum_mismatch());
        }
        let Payload(header, tracks, embeddings, segments, fingerprints, versions) =
            decode_bounded(payload)?;
        CatalogIndex::from_parts(header, tracks, embeddings, segments, fingerprints, versions)
    }
}

/// The checks of the fixed header, in order, given its first [`HEADER_LEN`] bytes (fewer if
/// the file is shorter) and the file's length.
fn check_header(head: &[u8], file_len: u64) -> Result<()> {
    let bad = |why: String| Err(Error::InvalidIndex(why));
    if file_len == 0 {
        return bad("the file is empty".into());
    }
    if file_len < HEADER_LEN as u64 {
        if !MAGIC.starts_with(&head[..head.len().min(8)]) {
            return bad("not a simsong index (wrong magic bytes)".into());
        }
        return bad(format!(
            "truncated: {file_len} bytes, shorter than the {HEADER_LEN}-byte header"
        ));
    }
    if head[..8] != MAGIC {
        return bad("not a simsong index (wrong magic bytes)".into());
    }
    let version = u32::from_le_bytes(head[8..12].try_into().unwrap());
    if version != FORMAT_VERSION {
        return Err(Error::IndexVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let declared = u64::from_le_bytes(head[16..24].try_into().unwrap());
    let present = file_len - HEADER_LEN as u64;
    if declared > present {
        return bad(format!(
            "truncated: the header announces {declared} payload bytes, the file holds {present}"
        ));
    }
    if declared < present {
        return bad(format!(
            "{} unexpected bytes after the payload",
            present - declared
        ));
    }
    Ok(())
}

fn checksum_mismatch() -> Error {
    Error::InvalidIndex("checksum mismatch: the file is corrupt or was modified".into())
}

/// The payload checksum as stored: XXH3-128, little-endian.
pub fn checksum(payload: &[u8]) -> [u8; 16] {
    xxh3_128(payload).to_le_bytes()
}

/// Decodes under a byte limit at least twice the payload size (bincode's limit is a const
/// generic, hence the tiers): container lengths are checked against it before allocating.
fn decode_bounded(payload: &[u8]) -> Result<Payload> {
    fn decode<const LIMIT: usize>(payload: &[u8]) -> Result<Payload> {
        let config = bincode::config::standard().with_limit::<LIMIT>();
        let (value, used) = bincode::serde::decode_from_slice(payload, config)
            .map_err(|e| Error::InvalidIndex(format!("undecodable payload: {e}")))?;
        if used != payload.len() {
            return Err(Error::InvalidIndex(format!(
                "{} undecoded bytes at the end of the payload",
                payload.len() - used
            )));
        }
        Ok(value)
    }
    const MIB: usize = 1 << 20;
    match 2 * payload.len() {
        n if n <= 4 * MIB => decode::<{ 4 * MIB }>(payload),
        n if n <= 32 * MIB => decode::<{ 32 * MIB }>(payload),
        n if n <= 256 * MIB => decode::<{ 256 * MIB }>(payload),
        n if n <= 1024 * MIB => decode::<{ 1024 * MIB }>(payload),
        _ => decode::<{ usize::MAX / 2 }>(payload),
    }
}

/// Reading an index file a piece at a time (native only).
#[cfg(not(target_arch = "wasm32"))]
mod file {
    use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
    use std::path::Path;

    use bincode::de::read::Reader;
    use bincode::error::DecodeError;
    use xxhash_rust::xxh3::Xxh3Default;

    use super::{HEADER_LEN, Payload, check_header, checksum_mismatch};
    use crate::error::{Error, Result};
    use crate::index::CatalogIndex;

    /// Bytes read at a time.
    const CHUNK: usize = 1 << 20;

    impl CatalogIndex {
        /// Reads the index file at `path` with the checks of [`CatalogIndex::from_bytes`], in
        /// the same order, but without holding the file's bytes (3.6 GB at 2M tracks) beside
        /// the index they decode to: a first pass checks the checksum, a second decodes, each
        /// a megabyte at a time. I/O errors are [`Error::Io`].
        pub fn read_file(path: &Path) -> Result<Self> {
            let io = |e| Error::io(path, e);
            let mut file = std::fs::File::open(path).map_err(io)?;
            let file_len = file.metadata().map_err(io)?.len();
            let mut head = vec![0u8; file_len.min(HEADER_LEN as u64) as usize];
            file.read_exact(&mut head).map_err(io)?;
            check_header(&head, file_len)?;
            let payload_len = file_len - HEADER_LEN as u64;

            let mut hasher = Xxh3Default::new();
            let mut buf = vec![0u8; CHUNK];
            let mut payload = (&mut file).take(payload_len);
            loop {
                let read = payload.read(&mut buf).map_err(io)?;
                if read == 0 {
                    break;
                }
                hasher.update(&buf[..read]);
            }
            if hasher.digest128().to_le_bytes()[..] != head[24..HEADER_LEN] {
                return Err(checksum_mismatch());
            }
            drop(buf);

            file.seek(SeekFrom::Start(HEADER_LEN as u64)).map_err(io)?;
            let mut reader = FileReader {
                inner: BufReader::with_capacity(CHUNK, file.take(payload_len)),
                len: payload_len,
                consumed: 0,
                error: None,
            };
            let decoded = decode_limited(&mut reader, payload_len as usize);
            if let Some(e) = reader.error.take() {
                return Err(io(e));
            }
            let Payload(header, tracks, embeddings, segments, fingerprints, versions) = decoded?;
            if reader.consumed != payload_len {
                return Err(Error::InvalidIndex(format!(
                    "{} undecoded bytes at the end of the payload",
                    payload_len - reader.consumed
                )));
            }
            CatalogIndex::from_parts(header, tracks, embeddings, segments, fingerprints, versions)
        }
    }

    /// A payload read through a buffer, for bincode: counts the bytes it gives and keeps an
    /// I/O error (bincode's error type cannot carry one).
    struct FileReader<R> {
        inner: BufReader<R>,
        /// The payload's bytes.
        len: u64,
        consumed: u64,
        error: Option<std::io::Error>,
    }

    impl<R: Read> Reader for FileReader<R> {
        fn read(&mut self, bytes: &mut [u8]) -> std::result::Result<(), DecodeError> {
            // As bincode's slice reader says it, past the end of the payload.
            let left = self.len - self.consumed;
            if bytes.len() as u64 > left {
                return Err(DecodeError::UnexpectedEnd {
                    additional: bytes.len() - left as usize,
                });
            }
            match self.inner.read_exact(bytes) {
                Ok(()) => {
                    self.consumed += bytes.len() as u64;
                    Ok(())
                }
                Err(e) => {
                    self.error = Some(e);
                    Err(DecodeError::Other("the file could not be read"))
                }
            }
        }

        fn peek_read(&mut self, n: usize) -> Option<&[u8]> {
            if self.inner.buffer().is_empty() && self.inner.fill_buf().is_err() {
                return None;
            }
            self.inner.buffer().get(..n)
        }

        fn consume(&mut self, n: usize) {
            BufRead::consume(&mut self.inner, n);
            self.consumed += n as u64;
        }
    }

    /// Decodes a payload of `len` bytes from `reader` under the byte limit of
    /// `decode_bounded`.
    fn decode_limited<R: Reader>(reader: R, len: usize) -> Result<Payload> {
        fn decode<const LIMIT: usize, R: Reader>(reader: R) -> Result<Payload> {
            let config = bincode::config::standard().with_limit::<LIMIT>();
            bincode::serde::decode_from_reader(reader, config)
                .map_err(|e| Error::InvalidIndex(format!("undecodable payload: {e}")))
        }
        const MIB: usize = 1 << 20;
        match 2 * len {
            n if n <= 4 * MIB => decode::<{ 4 * MIB }, R>(reader),
            n if n <= 32 * MIB => decode::<{ 32 * MIB }, R>(reader),
            n if n <= 256 * MIB => decode::<{ 256 * MIB }, R>(reader),
            n if n <= 1024 * MIB => decode::<{ 1024 * MIB }, R>(reader),
            _ => decode::<{ usize::MAX / 2 }, R>(reader),
        }
    }
}
