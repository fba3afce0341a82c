/**
 * A one-line progress bar for TTYs: `label [#####-----] 42% detail`. Redraws
 * at most 10 times a second; on a non-TTY stream it draws nothing, so logs and
 * pipes stay clean.
 */
export interface ProgressBar {
  update(fraction: number, detail?: string): void
  /** Clears the bar line (call before printing a summary or an error). */
  clear(): void
}

export function createProgressBar(options: { stream?: NodeJS.WriteStream; label?: string; width?: number; enabled?: boolean } = {}): ProgressBar {
  const stream = options.stream ?? process.stderr
  const enabled = options.enabled ?? Boolean(stream.isTTY)
  const label = options.label ?? ''
  let last = 0
  let drawn = false
  let lastLine = ''
  return {
    update(fraction, detail = '') {
      if (!enabled) return
      const now = Date.now()
      if (now - last < 100 && fraction < 1) return
      last = now
      const f = Math.max(0, Math.min(1, fraction))
      const columns = stream.columns || 80
      const width = options.width ?? Math.max(10, Math.min(40, columns - label.length - detail.length - 10))
      const full = Math.round(f * width)
      let line = `${label}${label ? ' ' : ''}[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}% ${detail}`
      if (line.length > columns - 1) line = line.slice(0, columns - 1)
      if (line === lastLine) return
      lastLine = line
      stream.write(`\r${line}\x1b[K`)
      drawn = true
    },
    clear() {
      if (enabled && drawn) stream.write('\r\x1b[K')
      drawn = false
      lastLine = ''
    },
  }
}
