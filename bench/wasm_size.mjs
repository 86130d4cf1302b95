#!/usr/bin/env node
// Where the bytes of a wasm module go, by crate (a twiggy-style "top by crate" breakdown).
//
//   node bench/wasm_size.mjs MODULE.wasm [--json OUT] [--top N] [--shipped FILE.wasm...]
//
// The module must still have its `name` section (cargo's output, before wasm-bindgen strips it):
// each function body in the code section is charged to the crate its (mangled) Rust name starts
// with; `<A as B>::f` is charged to A's crate, closures and shims to their parent. The data
// section (constant tables, strings, the front end's and model's static data) is reported as its
// own line. Sizes are raw bytes of the function bodies; the gzip line is the whole module's.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

function readLeb(buf, pos) {
  let result = 0,
    shift = 0,
    byte;
  do {
    byte = buf[pos++];
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return [result, pos];
}

/** Sections of a wasm module: [{ id, name, start, end }] (payload byte ranges). */
export function sections(buf) {
  if (buf.readUInt32LE(0) !== 0x6d736100) throw new Error('not a wasm module');
  const out = [];
  let pos = 8;
  while (pos < buf.length) {
    const id = buf[pos++];
    let size;
    [size, pos] = readLeb(buf, pos);
    let name = null;
    if (id === 0) {
      const [len, p] = readLeb(buf, pos);
      name = buf.subarray(p, p + len).toString('utf8');
    }
    out.push({ id, name, start: pos, end: pos + size });
    pos += size;
  }
  return out;
}

function importedFunctions(buf, sec) {
  let [count, pos] = readLeb(buf, sec.start);
  let funcs = 0;
  for (let i = 0; i < count; i++) {
    for (let s = 0; s < 2; s++) {
      let len;
      [len, pos] = readLeb(buf, pos);
      pos += len;
    }
    const kind = buf[pos++];
    if (kind === 0) {
      [, pos] = readLeb(buf, pos);
      funcs++;
    } else if (kind === 1) {
      pos++;
      let flags;
      [flags, pos] = readLeb(buf, pos);
      [, pos] = readLeb(buf, pos);
      if (flags & 1) [, pos] = readLeb(buf, pos);
    } else if (kind === 2) {
      let flags;
      [flags, pos] = readLeb(buf, pos);
      [, pos] = readLeb(buf, pos);
      if (flags & 1) [, pos] = readLeb(buf, pos);
    } else if (kind === 3) {
      pos += 2;
    } else throw new Error(`unknown import kind ${kind}`);
  }
  return funcs;
}

function functionNames(buf, sec) {
  const names = new Map();
  let [len, pos] = readLeb(buf, sec.start);
  pos += len; // "name"
  while (pos < sec.end) {
    const sub = buf[pos++];
    let size;
    [size, pos] = readLeb(buf, pos);
    if (sub === 1) {
      let [count, p] = readLeb(buf, pos);
      for (let i = 0; i < count; i++) {
        let idx, n;
        [idx, p] = readLeb(buf, p);
        [n, p] = readLeb(buf, p);
        names.set(idx, buf.subarray(p, p + n).toString('utf8'));
        p += n;
      }
    }
    pos += size;
  }
  return names;
}

/** The crate a (legacy-mangled) Rust symbol belongs to, or a bucket for the rest. */
export function crateOf(name) {
  if (!name) return '(unnamed)';
  const s = name;
  const m = /^_ZN(\d+)/.exec(s);
  if (!m) {
    if (/^(__wbg|__wbindgen|wasm_bindgen)/.test(s)) return 'wasm_bindgen';
    if (/^(memcpy|memset|memmove|memcmp|dlmalloc|__rust|rust_|__rdl|__rg|__stack)/.test(s)) return 'std';
    return '(other)';
  }
  const len = Number(m[1]);
  let seg = s.substr(m[0].length, len);
  // `<A as B>` / `<impl X for A>`: charge the implementing type's crate.
  seg = seg.replace(/^_?\$LT\$/, '').replace(/^impl\$u20\$/, '');
  seg = seg.replace(/^(\$RF\$|\$BP\$|\$u5b\$|mut\$u20\$|const\$u20\$|dyn\$u20\$|_)+/, '');
  const crate = seg.split(/\.\.|\$/)[0];
  const aliases = { alloc: 'std', core: 'std', std: 'std', hashbrown: 'std', dlmalloc: 'std' };
  return aliases[crate] ?? (crate || '(other)');
}

export function breakdown(buf) {
  const secs = sections(buf);
  const imp = secs.find((s) => s.id === 2);
  const nImported = imp ? importedFunctions(buf, imp) : 0;
  const nameSec = secs.find((s) => s.id === 0 && s.name === 'name');
  if (!nameSec) throw new Error("the module has no name section (use cargo's output, before wasm-bindgen)");
  const names = functionNames(buf, nameSec);
  const code = secs.find((s) => s.id === 10);
  const byCrate = new Map();
  let [count, pos] = readLeb(buf, code.start);
  for (let i = 0; i < count; i++) {
    const bodyStart = pos;
    let size;
    [size, pos] = readLeb(buf, pos);
    pos += size;
    const crate = crateOf(names.get(nImported + i));
    byCrate.set(crate, (byCrate.get(crate) ?? 0) + (pos - bodyStart));
  }
  const rows = [...byCrate].map(([crate, bytes]) => ({ part: crate, bytes }));
  const data = secs.filter((s) => s.id === 11).reduce((a, s) => a + s.end - s.start, 0);
  rows.push({ part: '(data section)', bytes: data });
  const custom = secs.filter((s) => s.id === 0).reduce((a, s) => a + s.end - s.start, 0);
  const counted = rows.reduce((a, r) => a + r.bytes, 0);
  rows.push({ part: '(types, imports, exports, tables)', bytes: buf.length - counted - custom });
  rows.sort((a, b) => b.bytes - a.bytes);
  return { total_bytes: buf.length, custom_section_bytes: custom, code_and_data: rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const file = args[0];
  const json = args.includes('--json') ? args[args.indexOf('--json') + 1] : null;
  const top = args.includes('--top') ? Number(args[args.indexOf('--top') + 1]) : 20;
  // The files a page downloads (after wasm-bindgen and wasm-opt), with their gzip size.
  const shipped = args.includes('--shipped') ? args.slice(args.indexOf('--shipped') + 1).filter((a) => !a.startsWith('--')) : [];
  const buf = readFileSync(file);
  const out = breakdown(buf);
  out.file = file;
  out.gzip_bytes_with_names = gzipSync(buf, { level: 9 }).length;
  const stripped = out.total_bytes - out.custom_section_bytes;
  console.log(`${file}: ${out.total_bytes} bytes, ${stripped} without custom sections (names)`);
  for (const r of out.code_and_data.slice(0, top)) {
    console.log(`${String(r.bytes).padStart(10)}  ${((100 * r.bytes) / stripped).toFixed(1).padStart(5)}%  ${r.part}`);
  }
  out.shipped = shipped.map((path) => {
    const bytes = readFileSync(path);
    return { file: path, bytes: bytes.length, gzip_bytes: gzipSync(bytes, { level: 9 }).length };
  });
  for (const s of out.shipped) console.log(`${s.file}: ${s.bytes} bytes, ${s.gzip_bytes} gzip`);
  if (json) writeFileSync(json, JSON.stringify(out, null, 2) + '\n');
}
