//! Progress bars for long batch work.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `len` files; hidden when stderr is not a terminal.
pub fn files_bar(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} files, {elapsed} elapsed, ETA {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}
