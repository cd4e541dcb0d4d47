/** A bad command line: unknown flag, missing argument, bad value (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}
