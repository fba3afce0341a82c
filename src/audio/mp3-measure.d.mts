/** Integrated loudness and true peak (4x oversampled) of an MP3 file, decoded in the calling thread. */
export function measureMp3File(file: string): Promise<{ integratedLufs: number; truePeakDb: number }>
