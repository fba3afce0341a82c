/** One instance per database connection (statements prepared once), for repositories of helpers' own tables. */
import type Database from 'better-sqlite3'

export function perDatabase<T>(create: (db: Database.Database) => T): (db: Database.Database) => T {
  const cache = new WeakMap<Database.Database, T>()
  return (db) => {
    let value = cache.get(db)
    if (value === undefined) {
      value = create(db)
      cache.set(db, value)
    }
    return value
  }
}
