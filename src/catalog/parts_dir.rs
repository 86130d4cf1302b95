//! [`DirParts`]: a [`PartSink`] that writes a publication's parts into a published folder's
//! `parts/` as they are cut, so that no part is held whole in memory.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::index::publish::PartSink;

/// Bytes buffered before a write to the part's file.
const BUFFER_BYTES: usize = 1 << 20;

/// Writes each part to a temporary file in `parts/`, then renames it to its name. A part that
/// is already there with the same size is kept (names are checksums, so it holds the same
/// bytes). Unless [`DirParts::keep`] is called (once the manifest that names them is written),
/// dropping the sink removes the parts it created and its temporary file, so a failed
/// publication leaves the folder as it was.
pub struct DirParts {
    dir: PathBuf,
    /// The part being written: its temporary file.
    current: Option<BufWriter<File>>,
    /// The temporary file's path.
    tmp: PathBuf,
    /// Parts this sink created.
    created: Vec<PathBuf>,
    /// Names of the parts this sink took (created or found there).
    taken: HashSet<String>,
    kept: bool,
}

impl DirParts {
    /// A sink into the published folder `dir` (created if missing, with its `parts/`).
    pub fn new(dir: &Path) -> Result<Self> {
        let parts = dir.join("parts");
        std::fs::create_dir_all(&parts).map_err(|e| Error::io(&parts, e))?;
        Ok(DirParts {
            dir: dir.to_path_buf(),
            current: None,
            tmp: parts.join(format!(".publishing-{}.tmp", std::process::id())),
            created: Vec::new(),
            taken: HashSet::new(),
            kept: false,
        })
    }

    /// Keeps the parts written (call once the manifest naming them is written).
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl PartSink for DirParts {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let tmp = &self.tmp;
        if self.current.is_none() {
            let file = File::create(tmp).map_err(|e| Error::io(tmp, e))?;
            self.current = Some(BufWriter::with_capacity(BUFFER_BYTES, file));
        }
        let file = self.current.as_mut().expect("opened above");
        file.write_all(bytes).map_err(|e| Error::io(tmp, e))
    }

    fn finish(&mut self, name: &str) -> Result<()> {
        let tmp = self.tmp.clone();
        let file = match self.current.take() {
            Some(file) => file,
            None => BufWriter::new(File::create(&tmp).map_err(|e| Error::io(&tmp, e))?),
        };
        let file = file
            .into_inner()
            .map_err(|e| Error::io(&tmp, e.into_error()))?;
        let len = file.metadata().map_err(|e| Error::io(&tmp, e))?.len();
        drop(file);
        let path = self.dir.join(name);
        let existing = std::fs::metadata(&path).ok().map(|m| m.len());
        if existing == Some(len) {
            std::fs::remove_file(&tmp).map_err(|e| Error::io(&tmp, e))?;
        } else {
            std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
            if existing.is_none() {
                self.created.push(path);
            }
        }
        self.taken.insert(name.to_string());
        Ok(())
    }

    fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        if !self.taken.contains(name) {
            return Ok(None);
        }
        let path = self.dir.join(name);
        std::fs::read(&path)
            .map(Some)
            .map_err(|e| Error::io(&path, e))
    }
}

impl Drop for DirParts {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        self.current = None;
        let _ = std::fs::remove_file(&self.tmp);
        for path in &self.created {
            let _ = std::fs::remove_file(path);
        }
    }
}
