#!/usr/bin/env bash
# An hour-long MP3 analysed by the CLI: wall time and peak resident memory (GNU time), as JSON.
# The front end streams (decode → resample → log-mel → at most 128 patches), so memory must not
# grow with the length of the file.  Usage: bench/hour_bench.sh SIMSONG_BIN MODEL OUT_DIR
set -euo pipefail
bin=$1 model=$2 out=$3
mp3="$out/one_hour.mp3"
[ -f "$mp3" ] || ffmpeg -v error -y -stream_loop -1 -i tests/fixtures/audio/real_music_a_44k.wav \
    -t 3600 -ar 44100 -ac 2 -b:a 128k "$mp3"
command -v /usr/bin/time >/dev/null || { apt-get install -y -qq time >/dev/null; }
/usr/bin/time -f '%e %M' -o "$out/hour.time" "$bin" embed "$mp3" --model "$model" --out "$out/hour.csv" 2>/dev/null
read -r wall rss_kb < "$out/hour.time"
echo "{\"file_bytes\": $(stat -c %s "$mp3"), \"seconds_of_audio\": 3600, \"wall_seconds\": $wall, \"peak_rss_mb\": $((rss_kb / 1024))}"
