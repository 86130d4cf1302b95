//! Where publication puts the parts it cuts, as it cuts them.
//!
//! A [`PartSink`] takes each part's bytes in pieces, in order, then its name. [`MemoryParts`]
//! keeps them (what [`super::publish_base`] and [`super::publish_delta`] return); the CLI's
//! sink writes them to the published folder (`crate::catalog::files`), so that a large
//! catalog's parts never need to be held whole: at 2M tracks the neighbour lists alone are
//! 4.2 GB (2,092 bytes per track) and the segment rows 2.2 GB.
//!
//! [`PartWriter`] is the publisher's side: it writes a part's envelope, hashes the bytes as
//! they pass (XXH3-128, which names the part) and keeps what it wrote.

use xxhash_rust::xxh3::Xxh3Default;

use super::PartFiles;
use crate::error::{Error, Result};
use crate::index::parts::manifest::PartFile;
use crate::index::parts::{ENVELOPE_LEN, Envelope, PartKind};

/// Takes the parts of a publication, one at a time.
pub trait PartSink {
    /// Appends `bytes` to the part being written (the first write after [`PartSink::finish`],
    /// or the first of all, starts a part).
    fn write(&mut self, bytes: &[u8]) -> Result<()>;
    /// Ends the part being written and names it: `name` is its path relative to the
    /// manifest (`parts/<kind>-<20 hex>.bin`).
    fn finish(&mut self, name: &str) -> Result<()>;
    /// The bytes of part `name` if this sink took it, for the neighbour lists, which are
    /// computed from the parts as a page reads them.
    fn read(&self, name: &str) -> Result<Option<Vec<u8>>>;
}

/// Parts kept in memory, as `(relative file name, bytes)` in the order they were written.
#[derive(Debug, Default)]
pub struct MemoryParts {
    current: Vec<u8>,
    /// The finished parts.
    pub files: PartFiles,
}

impl PartSink for MemoryParts {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.current.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(&mut self, name: &str) -> Result<()> {
        let bytes = std::mem::take(&mut self.current);
        self.files.push((name.to_string(), bytes));
        Ok(())
    }

    fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .files
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, b)| b.clone()))
    }
}

/// The part being written: its kind, the payload bytes its envelope announces and those
/// written so far.
struct Open {
    kind: PartKind,
    announced: u64,
    written: u64,
}

/// Writes parts into a [`PartSink`]: envelope, payload in pieces, name from the checksum.
pub struct PartWriter<'a> {
    sink: &'a mut dyn PartSink,
    hasher: Xxh3Default,
    open: Option<Open>,
    /// `(relative file name, bytes)` of every part written, in order.
    pub written: Vec<(String, u64)>,
}

impl<'a> PartWriter<'a> {
    /// A writer into `sink`.
    pub fn new(sink: &'a mut dyn PartSink) -> Self {
        PartWriter {
            sink,
            hasher: Xxh3Default::new(),
            open: None,
            written: Vec::new(),
        }
    }

    /// Starts a part with `envelope`, whose payload will be `payload_len` bytes.
    pub fn begin(&mut self, envelope: Envelope, payload_len: u64) -> Result<()> {
        assert!(self.open.is_none(), "one part at a time");
        self.hasher.reset();
        self.open = Some(Open {
            kind: envelope.kind,
            announced: payload_len,
            written: 0,
        });
        let header = envelope.header(payload_len);
        self.hasher.update(&header);
        self.sink.write(&header)
    }

    /// Appends payload bytes to the part begun.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let open = self.open.as_mut().expect("a part was begun");
        open.written += bytes.len() as u64;
        self.hasher.update(bytes);
        self.sink.write(bytes)
    }

    /// Ends the part begun; returns its manifest entry. Errors if the payload written is not
    /// the length its envelope announced.
    pub fn end(&mut self) -> Result<PartFile> {
        let open = self.open.take().expect("a part was begun");
        if open.written != open.announced {
            return Err(Error::InvalidIndex(format!(
                "the {} part holds {} payload bytes, its envelope announces {}",
                open.kind.name(),
                open.written,
                open.announced
            )));
        }
        let part = PartFile {
            bytes: ENVELOPE_LEN as u64 + open.written,
            xxh3: format!("{:032x}", self.hasher.digest128()),
        };
        let name = part.file_name(open.kind);
        self.sink.finish(&name)?;
        self.written.push((name, part.bytes));
        Ok(part)
    }

    /// Writes a whole part: `envelope`, then `payload`.
    pub fn put(&mut self, envelope: Envelope, payload: &[u8]) -> Result<PartFile> {
        self.begin(envelope, payload.len() as u64)?;
        self.write(payload)?;
        self.end()
    }

    /// The bytes of a part written here (see [`PartSink::read`]).
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.sink.read(name)
    }
}
