/** A bad command line: unknown flag, missing argument, bad value (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two words. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The message for an unknown flag: "unknown option --bootstrap-sever; did you mean
 * --bootstrap-server?" when a known long flag is close enough (a typo, not another word).
 */
export function unknownOptionMessage(given: string, known: Iterable<string>): string {
  const name = given.replace(/^-+/, '').replace(/=.*$/s, '');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    if (k.length < 2) continue;
    const dist = k.startsWith(name) && name.length >= 3 ? 1 : distance(name, k);
    if (dist < bestDistance) {
      best = k;
      bestDistance = dist;
    }
  }
  const shown = given.startsWith('-') ? given.replace(/=.*$/s, '') : `--${name}`;
  const close = best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3));
  return close ? `unknown option ${shown}; did you mean --${best}?` : `unknown option ${shown}`;
}

/** The option parseArgs named in its "Unknown option '--x'" error. */
export function unknownOptionOf(message: string): string | undefined {
  return /Unknown option '([^']+)'/.exec(message)?.[1];
}
