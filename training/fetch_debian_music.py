#!/usr/bin/env python3
"""Fetch the Debian game-music packages listed in ../shared/data/debian-music.tsv and
produce one decodable audio file per listed track, plus tracks.csv with licence data.

    python training/fetch_debian_music.py [--packages all|default|P1,P2] [--max-download-mb N]

Output (never inside the repo):
    ${SIMSONG_CACHE:-~/.cache/simsong}/training-data/
        debs/PKG_VER_all.deb          downloaded packages (kept as a cache; --delete-debs to drop)
        licenses/PKG.copyright        the package's usr/share/doc/PKG/copyright
        audio/PKG/<path>              decodable audio (ogg vorbis / mp3 copied as is;
                                      opus and tracker modules converted to FLAC)
        tracks.csv                    one row per track (see FIELDS)

Formats: symphonia (our Rust decoder) reads WAV, MP3, Ogg Vorbis, FLAC, AAC. Ogg Opus is
converted with ffmpeg to FLAC (16-bit, original 48 kHz rate). Tracker modules (mod, xm, it,
s3m) are rendered with openmpt123 (Debian package `openmpt123`) to 16-bit 44.1 kHz stereo WAV
and then encoded to FLAC with ffmpeg. The codec of every ".ogg" file is checked with ffprobe
(an .ogg holding Opus is converted too).

Selection: `--packages default` (the default) takes packages smallest-download-first until
--max-download-mb (default 1500) is reached; `all` takes all 32 (~5.4 GB of downloads);
a comma-separated list takes exactly those.
"""
import argparse
import csv
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import OrderedDict, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TSV = os.path.normpath(os.path.join(HERE, "..", "data", "debian-music.tsv"))
CACHE = os.environ.get("SIMSONG_CACHE", os.path.expanduser("~/.cache/simsong"))
DEFAULT_OUT = os.path.join(CACHE, "training-data")

FIELDS = ["track_id", "collection", "package", "version", "source_path", "audio_path",
          "duration_s", "license", "attribution"]
NATIVE = {"mp3", "wav", "flac", "vorbis"}  # symphonia-decodable codecs we keep as is
MODULES = {"mod", "xm", "it", "s3m"}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def read_tsv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def apt_size(pkg):
    out = subprocess.run(["apt-cache", "show", pkg], capture_output=True, text=True).stdout
    m = re.search(r"^Size:\s*(\d+)", out, re.M)
    return int(m.group(1)) if m else None


def choose_packages(rows, spec, max_mb):
    pkgs = OrderedDict()
    for r in rows:
        pkgs.setdefault(r["package"], r["version"])
    sizes = {p: apt_size(p) for p in pkgs}
    missing = [p for p, s in sizes.items() if s is None]
    if missing:
        log("warning: apt-cache does not know", missing, "(run apt-get update?)")
    if spec == "all":
        chosen = [p for p in pkgs if sizes[p] is not None]
    elif spec == "default":
        chosen, total = [], 0
        for p in sorted((p for p in pkgs if sizes[p] is not None), key=lambda p: sizes[p]):
            if total + sizes[p] <= max_mb * 1e6:
                chosen.append(p)
                total += sizes[p]
    else:
        chosen = [p.strip() for p in spec.split(",") if p.strip()]
        unknown = [p for p in chosen if p not in pkgs]
        if unknown:
            sys.exit(f"unknown packages (not in the TSV): {unknown}")
        total = sum(sizes[p] or 0 for p in chosen)
        if total > max_mb * 1e6:
            sys.exit(f"selected packages need {total/1e6:.0f} MB > --max-download-mb {max_mb}")
    return chosen, pkgs, sizes


def download(pkg, version, debs_dir):
    # apt-get download names files PKG_VERSION(without epoch, ':' -> %3a)_ARCH.deb
    for f in os.listdir(debs_dir):
        if f.startswith(pkg + "_") and f.endswith(".deb"):
            return os.path.join(debs_dir, f), False
    r = subprocess.run(["apt-get", "download", "-q", f"{pkg}={version}"], cwd=debs_dir,
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"  {pkg}={version} not downloadable ({r.stderr.strip()[:200]}); trying candidate")
        r = subprocess.run(["apt-get", "download", "-q", pkg], cwd=debs_dir,
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"apt-get download {pkg} failed: {r.stderr.strip()[:300]}")
    for f in os.listdir(debs_dir):
        if f.startswith(pkg + "_") and f.endswith(".deb"):
            return os.path.join(debs_dir, f), True
    raise RuntimeError(f"downloaded {pkg} but no .deb found")


# ---------------------------------------------------------------- licences (DEP-5)

def parse_copyright(text):
    """Return list of paragraphs (dict field -> value) of a DEP-5 file; [] if not DEP-5."""
    paras, cur, key = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                paras.append(cur)
            cur, key = {}, None
            continue
        if line[0] in " \t" and key:
            cur[key] += "\n" + line.strip()
            continue
        m = re.match(r"^([A-Za-z-]+):\s*(.*)$", line)
        if m:
            key = m.group(1).lower()
            cur[key] = m.group(2).strip()
        elif key:
            cur[key] += "\n" + line.strip()
    if cur:
        paras.append(cur)
    return paras


MUSIC_HINT = re.compile(r"music|musics|sound|audio|\.ogg|\.mod|\.xm|\.it\b|\.s3m|\.mp3|\.opus|songs", re.I)


def glob_matches(pattern, path):
    """DEP-5 patterns are relative to the source tree; installed paths differ, so accept a match
    of the pattern against any suffix of the installed path (component-aligned)."""
    parts = path.split("/")
    pparts = pattern.split("/")
    # also drop leading source-tree folders of the pattern (keep at least dir/file), e.g.
    # "base/music/x.ogg" (source tree) vs "music/x.ogg" (inside the installed archive)
    pats = ["/".join(pparts[j:]) for j in range(max(1, len(pparts) - 1))] if len(pparts) > 1 else [pattern]
    for pat in pats:
        for i in range(len(parts)):
            if fnmatch.fnmatchcase("/".join(parts[i:]), pat):
                return True
    return False


def licence_for(paras, path):
    """Pick the Files paragraph for `path` (last match wins, as DEP-5 says); when nothing but
    `Files: *` matches, prefer a paragraph whose Files mention music/sound."""
    files_paras = [p for p in paras if "files" in p]
    match = None
    for p in files_paras:
        pats = p["files"].split()
        if any(pat != "*" and glob_matches(pat, path) for pat in pats):
            match = p
    if match is None:
        hinted = [p for p in files_paras if MUSIC_HINT.search(p["files"]) and p["files"].strip() != "*"]
        # only use a music-hinted paragraph when its basename patterns agree with the file's ext
        ext = os.path.splitext(path)[1].lower()
        for p in hinted:
            if ext and ext in p["files"].lower():
                match = p
        if match is None:
            for p in hinted:
                if re.search(r"music|songs", p["files"], re.I):
                    match = p
                    break
    if match is None:
        for p in files_paras:
            if p["files"].split() == ["*"]:
                match = p
    if match is None:
        return None, None
    lic = match.get("license", "").split("\n")[0].strip()
    holders = "; ".join(x.strip() for x in match.get("copyright", "").split("\n") if x.strip())
    return lic, holders


def licence_fallback(text):
    """Non-DEP-5 copyright files: guess the licence from well-known phrases."""
    t = text.lower()
    t = re.sub(r"[\s-]+", " ", t)
    for key, name in [("creative commons attribution sharealike", "CC-BY-SA"),
                      ("creative commons attribute share alike", "CC-BY-SA"),
                      ("cc by sa", "CC-BY-SA"), ("creative commons attribution", "CC-BY"),
                      ("gnu general public license", "GPL"), ("gpl", "GPL"),
                      ("artistic license", "Artistic"), ("public domain", "public-domain")]:
        if key in t:
            lic = name
            break
    else:
        lic = "see-copyright"
    holders = []
    for line in text.splitlines():
        m = re.search(r"(copyright\s*(\(c\)|©)|©)\s*(.*)", line, re.I)
        if m and m.group(3).strip():
            holders.append(m.group(3).strip())
    return lic, "; ".join(holders[:6])


# ---------------------------------------------------------------- audio

def probe_codec(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                        "stream=codec_name", "-of", "default=nw=1:nk=1", path],
                       capture_output=True, text=True)
    return r.stdout.strip() or None


def to_flac(src, dst, rate=None):
    cmd = ["nice", "-n", "19", "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", src,
           "-map", "0:a:0", "-c:a", "flac", "-sample_fmt", "s16"]
    if rate:
        cmd += ["-ar", str(rate)]
    subprocess.run(cmd + [dst], check=True)


def render_module(src, dst_flac):
    with tempfile.TemporaryDirectory() as td:
        wav = os.path.join(td, "out.wav")
        subprocess.run(["nice", "-n", "19", "openmpt123", "--batch", "--quiet", "--force",
                        "--samplerate", "44100", "--channels", "2", "--no-float",
                        "--repeat", "0", "--output", wav, src],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        to_flac(wav, dst_flac)


def audio_duration(path):
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                        "-of", "default=nw=1:nk=1", path], capture_output=True, text=True)
    try:
        return float(r.stdout.strip())
    except ValueError:
        return None


def safe_rel(path):
    return path.replace("!", "/").replace(" ", "_")


def process_package(pkg, rows, deb, out_dir, force):
    """Extract `deb`, produce audio for `rows`; return tracks.csv rows."""
    audio_root = os.path.join(out_dir, "audio", pkg)
    lic_path = os.path.join(out_dir, "licenses", pkg + ".copyright")
    results = []
    with tempfile.TemporaryDirectory(dir=out_dir, prefix="x-") as td:
        subprocess.run(["dpkg-deb", "-x", deb, td], check=True)
        cp = os.path.join(td, "usr", "share", "doc", pkg, "copyright")
        text = open(cp, encoding="utf-8", errors="replace").read() if os.path.exists(cp) else ""
        with open(lic_path, "w") as f:
            f.write(text)
        paras = parse_copyright(text) if text.lstrip().lower().startswith("format:") else []
        zips = {}
        for r in rows:
            src = r["path_in_package"]
            tid = f"{pkg}:{src}"
            fmt = r["format"].lower()
            rel = safe_rel(src)
            base, ext = os.path.splitext(rel)
            try:
                # 1) get the source bytes into a temp file
                if "!" in src:
                    arc, inner = src.split("!", 1)
                    if arc not in zips:
                        zips[arc] = zipfile.ZipFile(os.path.join(td, arc))
                    raw = os.path.join(td, "_inner", inner)
                    os.makedirs(os.path.dirname(raw), exist_ok=True)
                    with zips[arc].open(inner) as fi, open(raw, "wb") as fo:
                        shutil.copyfileobj(fi, fo)
                else:
                    raw = os.path.join(td, src)
                if not os.path.exists(raw):
                    raise FileNotFoundError(src)
                # 2) decide conversion
                if fmt in MODULES:
                    dst = os.path.join(audio_root, base + "." + fmt + ".flac")
                    how = "openmpt123->flac"
                else:
                    codec = probe_codec(raw)
                    if codec in NATIVE:
                        dst = os.path.join(audio_root, rel)
                        how = "copy"
                    else:
                        dst = os.path.join(audio_root, base + ext + ".flac")
                        how = f"ffmpeg({codec})->flac"
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if force or not os.path.exists(dst):
                    tmp = dst + ".part" + (".flac" if dst.endswith(".flac") else ext)
                    if how == "copy":
                        shutil.copyfile(raw, tmp)
                    elif how.startswith("openmpt"):
                        render_module(raw, tmp)
                    else:
                        to_flac(raw, tmp)
                    os.replace(tmp, dst)
                dur = audio_duration(dst)
                if paras:
                    lic, holders = licence_for(paras, src.split("!")[-1])
                    if lic is None:
                        lic, holders = licence_fallback(text)
                else:
                    lic, holders = licence_fallback(text)
                results.append({
                    "track_id": tid, "collection": r["collection"], "package": pkg,
                    "version": r["version"], "source_path": src, "audio_path": dst,
                    "duration_s": f"{dur:.2f}" if dur else r["duration_s"],
                    "license": lic or "", "attribution": holders or "",
                })
                log(f"  ok  {how:22s} {src}")
            except Exception as e:  # keep going: one bad file must not stop the run
                log(f"  FAIL {src}: {e}")
        for z in zips.values():
            z.close()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tsv", default=DEFAULT_TSV)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--packages", default="default", help="default | all | comma-separated list")
    ap.add_argument("--max-download-mb", type=float, default=1500)
    ap.add_argument("--delete-debs", action="store_true", help="delete each .deb once extracted")
    ap.add_argument("--force", action="store_true", help="re-convert audio that exists")
    ap.add_argument("--list", action="store_true", help="print packages and sizes, do nothing")
    args = ap.parse_args()

    rows = read_tsv(args.tsv)
    chosen, versions, sizes = choose_packages(rows, args.packages, args.max_download_mb)
    by_pkg = defaultdict(list)
    for r in rows:
        by_pkg[r["package"]].append(r)
    total = sum(sizes[p] for p in chosen)
    log(f"{len(chosen)} packages, {sum(len(by_pkg[p]) for p in chosen)} tracks, "
        f"{len(set((p, r['collection']) for p in chosen for r in by_pkg[p]))} collections, "
        f"download {total/1e6:.0f} MB (all {len(versions)} packages: "
        f"{sum(s or 0 for s in sizes.values())/1e6:.0f} MB)")
    if args.list:
        for p in sorted(versions, key=lambda p: sizes[p] or 0):
            print(f"{p}\t{versions[p]}\t{(sizes[p] or 0)/1e6:.1f} MB\t{len(by_pkg[p])} tracks\t"
                  f"{'*' if p in chosen else ''}")
        return

    debs = os.path.join(args.out, "debs")
    for d in (debs, os.path.join(args.out, "licenses"), os.path.join(args.out, "audio")):
        os.makedirs(d, exist_ok=True)

    tracks_csv = os.path.join(args.out, "tracks.csv")
    existing = {}
    if os.path.exists(tracks_csv):  # keep rows of packages fetched in earlier runs
        with open(tracks_csv, newline="") as f:
            for r in csv.DictReader(f):
                if os.path.exists(r["audio_path"]):
                    existing[r["track_id"]] = r

    t0 = time.time()
    for i, pkg in enumerate(chosen):
        t1 = time.time()
        deb, fresh = download(pkg, versions[pkg], debs)
        t2 = time.time()
        log(f"[{i+1}/{len(chosen)}] {pkg}: {os.path.getsize(deb)/1e6:.0f} MB "
            f"{'downloaded in %.0fs' % (t2-t1) if fresh else '(cached)'}")
        for r in process_package(pkg, by_pkg[pkg], deb, args.out, args.force):
            existing[r["track_id"]] = r
        if args.delete_debs:
            os.remove(deb)
        log(f"    processed in {time.time()-t2:.0f}s")
        with open(tracks_csv, "w", newline="") as f:  # rewrite after each package (resumable)
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            for r in sorted(existing.values(), key=lambda r: r["track_id"]):
                w.writerow(r)
    log(f"done in {time.time()-t0:.0f}s: {len(existing)} tracks in {tracks_csv}")


if __name__ == "__main__":
    main()
