/**
 * A local gRPC server speaking google.cloud.texttospeech.v1.TextToSpeech, built
 * from the .proto files the client package ships: the real client library talks
 * to it over an insecure channel. It returns real LINEAR16 audio (a WAV header
 * plus a tone) whose length grows with the text and with SSML <break>s, records
 * every request, and can be told to fail, stall or answer slowly.
 */
import { createRequire } from 'node:module'
import path from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { grpc as gaxGrpc } from 'google-gax'
import { createGoogleEngine, type GoogleEngine, type GoogleEngineOptions } from '../../src/tts/google.ts'
import { wavFromPcm } from '../../src/tts/wav.ts'

const require = createRequire(import.meta.url)
const ttsProtos = path.join(path.dirname(require.resolve('@google-cloud/text-to-speech/package.json')), 'build', 'protos')
// google-gax exports no package.json; its main is build/src/index.js, protos sit beside build/src.
const gaxProtos = path.join(path.dirname(require.resolve('google-gax')), '..', 'protos')

export interface ReceivedRequest {
  input: { text?: string; ssml?: string; markup?: string }
  voice: { languageCode?: string; name?: string; ssmlGender?: string }
  audioConfig: { audioEncoding?: string; speakingRate?: number; pitch?: number; volumeGainDb?: number; sampleRateHertz?: number; effectsProfileId?: string[] }
}

export interface FakeGoogle {
  port: number
  received: ReceivedRequest[]
  /** Calls the server saw cancelled by the client. */
  cancelled: number
  /** Next responses: a gRPC status code to fail with (with optional details), consumed in order. */
  failures: { code: grpc.status; details?: string }[]
  /** Delay before answering, ms. */
  delayMs: number
  close(): Promise<void>
}

const RATE = 24000
const MS_PER_CHAR = 55

function breakMs(ssml: string): number {
  let total = 0
  for (const m of ssml.matchAll(/<break\b[^>]*time="(\d+(?:\.\d+)?)(ms|s)"/g)) total += Number(m[1]) * (m[2] === 's' ? 1000 : 1)
  return total
}

/** A 220 Hz tone as long as the text would take to say; breaks add silence. */
function fakeSpeech(req: ReceivedRequest): Buffer {
  const ssml = req.input.ssml
  const text = ssml ? ssml.replace(/<[^>]+>/g, '') : (req.input.text ?? '')
  const rate = req.audioConfig.speakingRate || 1
  const ms = (text.trim().length * MS_PER_CHAR) / rate + (ssml ? breakMs(ssml) : 0)
  const samples = Math.max(1, Math.round((ms / 1000) * RATE))
  const pcm = Buffer.alloc(samples * 2)
  for (let i = 0; i < samples; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 220 * i) / RATE)), i * 2)
  return wavFromPcm(pcm, RATE)
}

export async function startFakeGoogle(): Promise<FakeGoogle> {
  const definition = protoLoader.loadSync('google/cloud/texttospeech/v1/cloud_tts.proto', {
    includeDirs: [ttsProtos, gaxProtos],
    enums: String,
    longs: Number,
    defaults: false,
    oneofs: true,
  })
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { texttospeech: { v1: { TextToSpeech: { service: grpc.ServiceDefinition } } } } }
  }
  const server = new grpc.Server()
  const state: FakeGoogle = {
    port: 0,
    received: [],
    cancelled: 0,
    failures: [],
    delayMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve())
        setTimeout(() => server.forceShutdown(), 1000).unref()
      }),
  }
  server.addService(pkg.google.cloud.texttospeech.v1.TextToSpeech.service, {
    SynthesizeSpeech: (call: grpc.ServerUnaryCall<ReceivedRequest, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      state.received.push(call.request)
      let done = false
      call.on('cancelled', () => {
        state.cancelled++
        done = true
      })
      const answer = () => {
        if (done) return
        done = true
        const failure = state.failures.shift()
        if (failure) return callback({ code: failure.code, details: failure.details ?? grpc.status[failure.code] })
        callback(null, { audioContent: fakeSpeech(call.request) })
      }
      if (state.delayMs > 0) setTimeout(answer, state.delayMs)
      else answer()
    },
    ListVoices: (call: grpc.ServerUnaryCall<{ languageCode?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback(null, {
        voices: [
          { languageCodes: ['en-US'], name: 'en-US-Neural2-F', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 },
          { languageCodes: ['en-US'], name: 'en-US-Chirp3-HD-Charon', ssmlGender: 'MALE', naturalSampleRateHertz: 24000 },
          { languageCodes: ['de-DE'], name: 'de-DE-Neural2-G', ssmlGender: 'FEMALE', naturalSampleRateHertz: 24000 },
        ].filter((v) => !call.request.languageCode || v.languageCodes.includes(call.request.languageCode)),
      })
    },
  })
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  )
  return state
}

/** Options that point the real client at the fake server, with fake credentials so nothing probes a metadata server. */
export function fakeGoogleOptions(fake: FakeGoogle, extra: Partial<GoogleEngineOptions> = {}): GoogleEngineOptions {
  return {
    apiEndpoint: 'localhost',
    port: fake.port,
    retryBaseMs: 5,
    maxRetries: 3,
    requestsPerMinute: 100_000,
    clientOptions: {
      sslCreds: gaxGrpc.credentials.createInsecure(),
      credentials: { client_email: 'briefcast-test@example.iam.gserviceaccount.com', private_key: 'not-a-real-key' },
      projectId: 'briefcast-test',
    },
    ...extra,
  }
}

export function createFakeGoogleEngine(fake: FakeGoogle, extra: Partial<GoogleEngineOptions> = {}): Promise<GoogleEngine> {
  return createGoogleEngine(fakeGoogleOptions(fake, extra))
}
