/*
 * briefcast's binding to espeak-ng, compiled to WebAssembly (see build.sh).
 * Synchronous output: bc_synth() returns when the text is spoken; audio and the word and
 * sentence events reach JavaScript through bc_on_audio() (imported from the JS side),
 * one call per buffer, the events flattened to int32 quadruples (type, text position,
 * length, audio position ms) with type 1 = word, 2 = sentence.
 */
#include <stdlib.h>
#include <string.h>
#include <emscripten.h>
#include "speak_lib.h"

extern int bc_on_audio(short *wav, int samples, int *events, int eventCount);

static int *event_buf = NULL;
static int event_cap = 0;

static int synth_callback(short *wav, int numsamples, espeak_EVENT *events) {
  int n = 0;
  for (espeak_EVENT *e = events; e && e->type != espeakEVENT_LIST_TERMINATED; e++) {
    if (e->type != espeakEVENT_WORD && e->type != espeakEVENT_SENTENCE) continue;
    if ((n + 1) * 4 > event_cap) {
      int cap = event_cap ? event_cap * 2 : 256;
      int *grown = realloc(event_buf, cap * sizeof(int));
      if (!grown) return 1;
      event_buf = grown;
      event_cap = cap;
    }
    event_buf[n * 4] = e->type == espeakEVENT_WORD ? 1 : 2;
    event_buf[n * 4 + 1] = e->text_position;
    event_buf[n * 4 + 2] = e->length;
    event_buf[n * 4 + 3] = e->audio_position;
    n++;
  }
  return bc_on_audio(wav, numsamples, event_buf, n);
}

/* Returns the sample rate, or a negative espeak error code. */
EMSCRIPTEN_KEEPALIVE int bc_init(const char *dataPath) {
  int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 100, dataPath, espeakINITIALIZE_DONT_EXIT);
  espeak_SetSynthCallback(synth_callback);
  return rate;
}

EMSCRIPTEN_KEEPALIVE int bc_set_voice(const char *name) { return espeak_SetVoiceByName(name); }

EMSCRIPTEN_KEEPALIVE int bc_set_parameter(int which, int value) { return espeak_SetParameter(which, value, 0); }

/* flags: espeakCHARS_* | espeakSSML | espeakPHONEMES, as espeak_Synth takes them. */
EMSCRIPTEN_KEEPALIVE int bc_synth(const char *text, int flags) {
  return espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, flags, NULL, NULL);
}

/* The voice list: a NULL-terminated array of espeak_VOICE pointers (read from JS). */
EMSCRIPTEN_KEEPALIVE const espeak_VOICE **bc_list_voices(void) { return espeak_ListVoices(NULL); }
EMSCRIPTEN_KEEPALIVE const char *bc_voice_name(const espeak_VOICE *v) { return v->name; }
EMSCRIPTEN_KEEPALIVE const char *bc_voice_languages(const espeak_VOICE *v) { return v->languages; }
EMSCRIPTEN_KEEPALIVE const char *bc_voice_identifier(const espeak_VOICE *v) { return v->identifier; }
