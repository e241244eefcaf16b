// Takes this machine's directories out of what the bench writes to bench/results (command lines, log paths).

/** Directories that say where a checkout lives on one machine. */
const HOME_ROOTS = /^\/(?:home|Users|root|work|workspace|opt|srv|mnt|var\/folders|private)\//;

/**
 * Absolute file paths shortened to the part inside a checkout: a checkout's absolute `.../dist/src/main.js`
 * becomes `dist/src/main.js`, and another checkout's `…/node_modules/.bin/eslint` keeps only that part. Other
 * paths under a home-like root keep their last two parts. Routes (`POST /webhooks/invoice`) and system paths
 * (`/proc/…`) are left alone. Results are committed; the machine's layout is not theirs to carry.
 */
export function withoutMachinePaths(text: string): string {
  return text.replace(/(?<![\w.:/])\/(?:[\w.@+-]+\/)+[\w.@+-]*/g, (absolute) => {
    const repoPart = /\/((?:node_modules|dist|bench|\.cache)\/.*)$/.exec(absolute)?.[1];
    if (repoPart !== undefined) return repoPart;
    if (!HOME_ROOTS.test(absolute)) return absolute;
    return `…/${absolute.split('/').filter(Boolean).slice(-2).join('/')}`;
  });
}
