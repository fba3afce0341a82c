/** Placeholder so the app builds; the feed helper replaces this file. */
import express from 'express'
import type { AppDeps } from '../deps.ts'

export function feedRouter(_deps: AppDeps): express.Router {
  return express.Router()
}
