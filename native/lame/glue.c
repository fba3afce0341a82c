/*
 * briefcast's binding to libmp3lame (LAME 3.100) in WebAssembly: one CBR mono encoder per call of
 * bc_mp3_init, fed float samples in 16-bit units (as our resampler writes them), writing bare MPEG
 * frames: no Xing/Info frame and no ID3 tag (the episode join writes its own). Built by build.sh.
 */
#include <stdlib.h>
#include <lame.h>
#include <emscripten.h>

/* A new encoder: sample rate in and out, CBR bitrate (kbps), algorithm quality (0 best .. 9 fastest). 0 on error. */
EMSCRIPTEN_KEEPALIVE lame_global_flags *bc_mp3_init(int sampleRate, int bitrateKbps, int quality) {
    lame_global_flags *gfp = lame_init();
    if (!gfp) return 0;
    lame_set_num_channels(gfp, 1);
    lame_set_mode(gfp, MONO);
    lame_set_in_samplerate(gfp, sampleRate);
    lame_set_out_samplerate(gfp, sampleRate);
    lame_set_VBR(gfp, vbr_off);
    lame_set_brate(gfp, bitrateKbps);
    lame_set_quality(gfp, quality);
    lame_set_bWriteVbrTag(gfp, 0);
    lame_set_write_id3tag_automatic(gfp, 0);
    if (lame_init_params(gfp) < 0) {
        lame_close(gfp);
        return 0;
    }
    return gfp;
}

/* Encodes `count` samples (floats, full scale +-32768); returns the bytes written to `out`, or < 0 (LAME's error). */
EMSCRIPTEN_KEEPALIVE int bc_mp3_encode(lame_global_flags *gfp, const float *pcm, int count, unsigned char *out, int outSize) {
    return lame_encode_buffer_float(gfp, pcm, pcm, count, out, outSize);
}

/* The last frames; returns their bytes, or < 0. */
EMSCRIPTEN_KEEPALIVE int bc_mp3_flush(lame_global_flags *gfp, unsigned char *out, int outSize) {
    return lame_encode_flush(gfp, out, outSize);
}

EMSCRIPTEN_KEEPALIVE int bc_mp3_delay(lame_global_flags *gfp) {
    return lame_get_encoder_delay(gfp);
}

EMSCRIPTEN_KEEPALIVE void bc_mp3_close(lame_global_flags *gfp) {
    lame_close(gfp);
}

EMSCRIPTEN_KEEPALIVE void *bc_malloc(int bytes) {
    return malloc(bytes);
}

EMSCRIPTEN_KEEPALIVE void bc_free(void *p) {
    free(p);
}
