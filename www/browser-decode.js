// Fallback for formats the Rust decoder does not read (e.g. Opus/WebM): the browser decodes to
// PCM, and the engine resamples it. The browser's decodeAudioData always resamples to its
// context's rate; 48 kHz keeps that step lossless for the common rates, and the analysis then
// resamples to 16 kHz in Rust as usual.
export async function decodeInBrowser(bytes) {
  const Context = globalThis.OfflineAudioContext || globalThis.webkitOfflineAudioContext;
  if (!Context) throw new Error('this browser cannot decode audio');
  const buffer = await new Context(1, 1, 48000).decodeAudioData(bytes);
  const channels = buffer.numberOfChannels;
  const frames = buffer.length;
  const samples = new Float32Array(frames * channels);
  for (let c = 0; c < channels; c++) {
    const data = buffer.getChannelData(c);
    for (let i = 0; i < frames; i++) samples[i * channels + c] = data[i];
  }
  return { samples, sampleRate: buffer.sampleRate, channels };
}
