export function loudnessReply(msg: { id: number; file: string; plan?: unknown; mp3?: boolean }): Promise<{ id: number; result?: unknown; error?: unknown }>
export function warmUpLoudness(): void
