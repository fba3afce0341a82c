#!/bin/sh
# Builds src/tts/espeak-ng-wasm.cjs and src/tts/espeak-ng-wasm.wasm: espeak-ng compiled to WebAssembly
# with briefcast's binding (glue.c). The output is committed, so neither `npm ci` nor CI runs this.
#
# What it needs (Debian bookworm, as root):
#   apt-get install emscripten                     # emcc 3.1.6
#   add a deb-src line for trixie, apt-get update, then:
#   apt-get source espeak-ng=1.52.0+dfsg-5         # the engine's C sources
# Usage: sh native/espeak-ng/build.sh /path/to/espeak-ng-1.52.0+dfsg
#
# The voice data is not compiled in: the worker loads it from @echogarden/espeak-ng-emscripten's
# espeak-ng.data (built from the same espeak-ng release), so one copy of the data serves both builds.
set -eu
SRC=${1:?usage: build.sh <espeak-ng source directory>}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/../../src/tts
LIB=$SRC/src/libespeak-ng
CONF=$(mktemp -d)
trap 'rm -rf "$CONF"' EXIT
# config.h as espeak-ng's CMake build would write it: synchronous output and klatt; no mbrola,
# sonic, pcaudio or speech-player (C++).
cat > "$CONF/config.h" <<'H'
#define HAVE_MKSTEMP 1
#define USE_ASYNC 0
#define USE_KLATT 1
#define USE_LIBPCAUDIO 0
#define USE_LIBSONIC 0
#define USE_MBROLA 0
#define USE_SPEECHPLAYER 0
#define PACKAGE_VERSION "1.52.0"
H
FILES=""
for f in common mnemonics error ieee80 compiledata compiledict dictionary encoding intonation langopts numbers \
  phoneme phonemelist readclause setlengths soundicon spect ssml synthdata synthesize tr_languages translate \
  translateword voices wavegen speech espeak_api klatt; do FILES="$FILES $LIB/$f.c"; done
# Debian's emcc runs its JS optimizer with Debian's node-acorn.
export NODE_PATH=/usr/share/nodejs
# shellcheck disable=SC2086
emcc -O3 -fwrapv -DLIBESPEAK_NG_EXPORT=1 '-DPATH_ESPEAK_DATA="/usr/share/espeak-ng-data"' \
  -I "$CONF" -I "$SRC/src/include" -I "$SRC/src/include/espeak-ng" -I "$SRC/src/ucd-tools/src/include" -I "$LIB" \
  $FILES "$SRC"/src/ucd-tools/src/*.c "$HERE/glue.c" --js-library "$HERE/library.js" \
  -s MODULARIZE=1 -s EXPORT_NAME=createEspeak -s ENVIRONMENT=node \
  -s NODEJS_CATCH_EXIT=0 -s NODEJS_CATCH_REJECTION=0 \
  -s FORCE_FILESYSTEM=1 -s ALLOW_MEMORY_GROWTH=1 -s INITIAL_MEMORY=16777216 \
  -s EXPORTED_FUNCTIONS='["_malloc","_free","_bc_init","_bc_set_voice","_bc_set_parameter","_bc_synth","_bc_list_voices","_bc_voice_name","_bc_voice_languages","_bc_voice_identifier"]' \
  -s EXPORTED_RUNTIME_METHODS='["FS","UTF8ToString","stringToUTF8","lengthBytesUTF8"]' \
  -Wno-unused-command-line-argument -lnodefs.js \
  -o "$OUT/espeak-ng-wasm.cjs"
echo "wrote $OUT/espeak-ng-wasm.cjs and $OUT/espeak-ng-wasm.wasm"
