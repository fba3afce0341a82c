#!/bin/sh
# Builds src/audio/lame.wasm: libmp3lame (LAME 3.100, LGPL-2.0-or-later) compiled to WebAssembly with
# briefcast's binding (glue.c), a standalone module with no JavaScript glue (src/audio/lame-wasm.mjs
# loads it). The output is committed, so neither `npm ci` nor CI runs this.
#
# What it needs (Debian bookworm, as root):
#   apt-get install emscripten                     # emcc 3.1.6
#   a deb-src line for bookworm in /etc/apt/sources.list.d/, apt-get update, then:
#   apt-get source lame=3.100-6                    # LAME's C sources with Debian's patches
# Usage: sh native/lame/build.sh /path/to/lame-3.100
set -eu
SRC=${1:?usage: build.sh <lame source directory>}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/../../src/audio
CONF=$(mktemp -d)
trap 'rm -rf "$CONF"' EXIT
# config.h as LAME's configure writes it for a 32-bit little-endian C99 target with IEEE 754 floats:
# no decoder (mpglib), no frontend, no SIMD.
cat > "$CONF/config.h" <<'H'
#define STDC_HEADERS 1
#define HAVE_ERRNO_H 1
#define HAVE_FCNTL_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_LIMITS_H 1
#define HAVE_MEMORY_H 1
#define HAVE_STDINT_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_STRINGS_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UNISTD_H 1
#define HAVE_INT8_T 1
#define HAVE_INT16_T 1
#define HAVE_INT32_T 1
#define HAVE_INT64_T 1
#define HAVE_UINT8_T 1
#define HAVE_UINT16_T 1
#define HAVE_UINT32_T 1
#define HAVE_UINT64_T 1
#define SIZEOF_SHORT 2
#define SIZEOF_INT 4
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_FLOAT 4
#define SIZEOF_DOUBLE 8
#define SIZEOF_UNSIGNED_SHORT 2
#define SIZEOF_UNSIGNED_INT 4
#define SIZEOF_UNSIGNED_LONG 4
#define SIZEOF_UNSIGNED_LONG_LONG 8
#define TAKEHIRO_IEEE754_HACK 1
#define USE_FAST_LOG 1
#define LAME_LIBRARY_BUILD 1
#define PACKAGE "lame"
#define PACKAGE_VERSION "3.100"
#define VERSION "3.100"
typedef double ieee754_float64_t;
typedef float ieee754_float32_t;
H
FILES=""
for f in VbrTag bitstream encoder fft gain_analysis id3tag lame newmdct presets psymodel quantize quantize_pvt \
  reservoir set_get tables takehiro util vbrquantize version; do FILES="$FILES $SRC/libmp3lame/$f.c"; done
# Debian's emcc runs its JS optimizer with Debian's node-acorn.
export NODE_PATH=/usr/share/nodejs
# A standalone module (no JavaScript glue, no file system): it imports nothing the binding does not
# provide; its memory grows on demand (a piece needs a few MB).
# shellcheck disable=SC2086
emcc -O3 -DHAVE_CONFIG_H -I "$CONF" -I "$SRC/include" -I "$SRC/libmp3lame" \
  -Wno-shift-negative-value -Wno-absolute-value -Wno-tautological-pointer-compare -Wno-unused-but-set-variable \
  $FILES "$HERE/glue.c" \
  -s STANDALONE_WASM=1 --no-entry -s ALLOW_MEMORY_GROWTH=1 -s INITIAL_MEMORY=4194304 -s TOTAL_STACK=262144 \
  -s FILESYSTEM=0 -s ERROR_ON_UNDEFINED_SYMBOLS=1 \
  -o "$OUT/lame.wasm"
echo "wrote $OUT/lame.wasm ($(wc -c < "$OUT/lame.wasm") bytes)"
