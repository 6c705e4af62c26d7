/**
 * Whether a cache behaviour's path pattern matches a viewer path: `*` matches any run of characters (`/`
 * included), `?` exactly one, everything else itself, case-sensitively; a pattern without a leading `/` is
 * read with one (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html#DownloadDistValuesPathPattern).
 *
 * No regular expression: the two-pointer wildcard match keeps one backtracking point (the last `*`), so it
 * takes at most |pattern|·|path| steps, never the exponential time a backtracking regex engine can take.
 */
export function pathPatternMatches(pattern: string, path: string): boolean {
  const glob = pattern.startsWith('/') || pattern === '*' ? pattern : `/${pattern}`;
  let g = 0;
  let p = 0;
  let star = -1;
  let resume = 0;
  while (p < path.length) {
    const c = glob[g];
    if (c !== undefined && c !== '*' && (c === '?' || c === path[p])) {
      g += 1;
      p += 1;
    } else if (c === '*') {
      star = g;
      g += 1;
      resume = p;
    } else if (star >= 0) {
      // Let the last `*` swallow one more character and retry what follows it.
      g = star + 1;
      resume += 1;
      p = resume;
    } else {
      return false;
    }
  }
  while (glob[g] === '*') g += 1;
  return g === glob.length;
}
