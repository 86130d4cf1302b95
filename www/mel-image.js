// Draws a log-mel display spectrogram (frame-major columns × bands) on a canvas.
export function drawMel(canvas, mel) {
  const { columns, bands, count } = mel;
  canvas.width = count;
  canvas.height = bands;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(count, bands);
  let max = 1e-6;
  for (const v of columns) max = Math.max(max, v);
  for (let c = 0; c < count; c++) {
    for (let b = 0; b < bands; b++) {
      const v = columns[c * bands + b] / max;
      const y = bands - 1 - b; // low frequencies at the bottom
      const i = (y * count + c) * 4;
      // A dark-to-warm ramp.
      image.data[i] = Math.round(255 * Math.min(1, v * 1.6));
      image.data[i + 1] = Math.round(255 * Math.max(0, v * 1.4 - 0.4));
      image.data[i + 2] = Math.round(80 * (1 - v) + 40 * v);
      image.data[i + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}
