export declare const STDERR_TAIL_BYTES: number
/** How a run of ffmpeg/ffprobe ended. */
export type RunOutcome = { error: { code?: string; message: string } } | { code: number | null; signal: string | null; stdout: string; stderr: string }
export declare function runBinary(
  binary: string,
  args: string[],
  options?: { nice?: number; onSpawn?: (pid: number) => void },
): { kill(): void; done: Promise<RunOutcome> }
