// A song file of the user's, read for analysis: its bytes go to the worker, whose Rust decoder
// gives the same numbers as the CLI; a format that decoder does not know is decoded by the
// browser instead (browser-decode.js) and the worker gets PCM.
import { decodeInBrowser } from './browser-decode.js';
import { ErrorCode, errorToWire, hasCode, Message, SimsongError } from './protocol.js';

/**
 * Reads `file` (a File or Blob) and resolves to `viaBytes(bytes)` (the bytes may be
 * transferred); when the worker's decoder does not know the format, to `viaPcm({ samples,
 * sampleRate, channels })` of the browser's decoding. Resolves to null as soon as `isCurrent()`
 * turns false (a newer search replaced this one). Throws a SimsongError `unreadable-file`, with the
 * message the page shows, when neither decoder reads the file; other errors as `viaBytes` threw them.
 */
export async function readSong(file, { isCurrent, viaBytes, viaPcm }) {
  const bytes = await file.arrayBuffer();
  if (!isCurrent()) return null;
  // A second copy stays here for the browser's decoder; the first may move to the worker.
  const spare = bytes.slice(0);
  try {
    return await viaBytes(bytes);
  } catch (e) {
    // The engine's decoder does not know the format: the browser's may.
    if (!hasCode(e, ErrorCode.UNSUPPORTED_FORMAT)) throw e;
    if (!isCurrent()) return null;
    let pcm;
    try {
      pcm = await decodeInBrowser(spare);
    } catch {
      throw new SimsongError(
        ErrorCode.UNREADABLE_FILE,
        `“${file.name || 'your file'}” is not an audio file this page can read (${e.message}). ` + 'Try an MP3, Ogg Vorbis, FLAC, WAV or AAC/M4A file.',
        { name: file.name || null },
      );
    }
    if (!isCurrent()) return null;
    return viaPcm(pcm);
  }
}

/**
 * Analyses `file` for the shortlist (no search): `ask(message, transfer)` is the engine client's
 * query (an `embedFile` or, for a format only the browser reads, an `embedPcm` message). Resolves
 * to the reference `{ kind: 'file', name, blob, analysis, analysisId, embedding, decodedBy? }`, or null when
 * `isCurrent()` turned false; throws a SimsongError with the message the page shows.
 */
export async function analyzeSong(file, { isCurrent, ask }) {
  const name = file.name || 'your file';
  const ref = { kind: 'file', name, blob: file };
  let answer;
  try {
    answer = await readSong(file, {
      isCurrent,
      viaBytes: (bytes) => ask({ type: Message.EMBED_FILE, bytes, name }, [bytes]),
      viaPcm: ({ samples, sampleRate, channels }) => {
        ref.decodedBy = 'browser';
        return ask({ type: Message.EMBED_PCM, samples, sampleRate, channels, name }, [samples.buffer]);
      },
    });
  } catch (e) {
    if (hasCode(e, ErrorCode.UNREADABLE_FILE)) throw e;
    throw new SimsongError(errorToWire(e).code, `Cannot analyse “${name}”: ${e.message}`, e.details ?? {});
  }
  if (!answer || !isCurrent()) return null;
  ref.analysis = answer.analysis;
  ref.analysisId = answer.analysis.id;
  ref.embedding = answer.analysis.embedding;
  return ref;
}
