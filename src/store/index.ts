export * from './types.ts'
export { openStore, type OpenStoreOptions } from './sqlite.ts'
export { migrations, migrate, type Migration } from './migrations.ts'
