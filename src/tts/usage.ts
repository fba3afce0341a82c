/**
 * Characters sent to cloud speech engines, per engine and calendar month
 * (UTC). Sites budget cloud TTS by characters; these are the characters each
 * provider bills for the calls briefcast made (clip-cache hits cost nothing
 * and are not counted). Stored through the store: store.usage (src/store/stats.ts).
 */
export { usageMonth, type EngineUsageRepository, type EngineUsageRow } from '../store/stats.ts'
