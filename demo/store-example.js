// A store page that embeds <similar-songs> and brings its own player: it shows the chosen
// track as the product, plays previews itself (the element has player="none") and keeps the
// element's results in step with the product on display.
const similar = document.getElementById('similar');
const params = new URLSearchParams(location.search);
for (const name of ['index', 'model', 'preview-base']) {
  if (params.has(name)) similar.setAttribute(name, params.get(name));
}
const $ = (id) => document.getElementById(id);
let product = null;
let cart = 0;

function show(track) {
  product = track;
  $('product-title').textContent = track.title;
  $('product-meta').textContent = [track.collection, track.license].filter(Boolean).join(' · ');
}

// The product on display is the track from the URL (or the page's default): the element finds
// tracks like it, and its metadata comes with the results.
similar.addEventListener('ready', () => {
  const wanted = params.get('track') || similar.dataset.defaultTrack;
  if (wanted) similar.searchByTrack(wanted).catch(() => {});
});

// The buyer picked a related track: it becomes the product on display.
similar.addEventListener('trackchoose', ({ detail }) => show(detail.track));

// The element asks to play a preview: this store uses its own player.
similar.addEventListener('trackplay', ({ detail }) => {
  const player = $('store-player');
  player.src = detail.url;
  player.currentTime = detail.startSeconds;
  player.play().catch(() => {});
  $('store-status').textContent = `Previewing “${detail.track.title}” from ${Math.round(detail.startSeconds)} s`;
});

similar.addEventListener('results', ({ detail }) => {
  if (!product && detail.reference?.kind === 'track' && detail.reference.track) show(detail.reference.track);
  $('store-status').textContent = `${detail.hits.length} tracks sound like this one.`;
});

$('preview').addEventListener('click', () => product && similar.play(product.id));

$('add').addEventListener('click', () => {
  cart += 1;
  $('cart').textContent = `Cart: ${cart}`;
});
