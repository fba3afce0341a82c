import express from 'express'
import type { AppDeps } from '../deps.ts'

export function adminRouter(_deps: AppDeps): express.Router {
  return express.Router()
}
