// The engine worker's downloads of its own (engine-worker.js): the analysis module, the model
// and catalog previews, with byte progress and errors that say what could not be loaded. The
// catalog's parts have their own fetcher (catalog-fetch.js).
import { ErrorCode, SimsongError } from './protocol.js';

// The answer for `url`, or an error that names `what` could not be loaded and why.
export async function fetchOk(url, what) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new SimsongError(ErrorCode.NETWORK, `cannot load the ${what} from ${url}: ${e.message}`, { url });
  }
  if (!response.ok) {
    throw new SimsongError(ErrorCode.NETWORK, `cannot load the ${what} from ${url} (HTTP ${response.status})`, { url, status: response.status });
  }
  return response;
}

// The bytes at `url`; `onBytes(loaded, total)` hears them arrive, when given.
export async function fetchBytes(url, what, onBytes = null) {
  const response = await fetchOk(url, what);
  if (!onBytes || !response.body) return new Uint8Array(await response.arrayBuffer());
  return new Uint8Array(await new Response(countBytes(response, onBytes)).arrayBuffer());
}

// Fetches and compiles the analysis module, streaming where the server allows it.
export async function compileAnalyser(url, onBytes) {
  const response = await fetchOk(url, 'song analyser');
  const counted = new Response(countBytes(response, onBytes), { headers: { 'Content-Type': 'application/wasm' } });
  // Streaming compilation overlaps the download (seconds on a phone's network).
  if (typeof WebAssembly.compileStreaming === 'function') return WebAssembly.compileStreaming(counted);
  return WebAssembly.compile(await counted.arrayBuffer());
}

// The body of `response`, reporting `(loaded, total)` bytes as they arrive (`total`: the
// announced length when the body is not compressed, else null).
export function countBytes(response, onBytes) {
  const encoded = response.headers.get('Content-Encoding');
  const length = Number(response.headers.get('Content-Length'));
  const total = !encoded && length > 0 ? length : null;
  let loaded = 0;
  onBytes(0, total);
  return response.body.pipeThrough(
    new TransformStream({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        onBytes(loaded, total);
        controller.enqueue(chunk);
      },
    }),
  );
}
