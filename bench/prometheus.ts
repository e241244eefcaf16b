/**
 * One scrape of a Prometheus text exposition: series name → value summed over label sets, and
 * `name{label="value"}` → the sum over the series carrying that one label pair.
 */
export type Scrape = Map<string, number>;

/** Parses the Prometheus text format (see {@link Scrape} for the keys). */
export function parsePrometheus(text: string): Scrape {
  const out: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const name = match[1] as string;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    out.set(name, (out.get(name) ?? 0) + value);
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      const key = `${name}{${pair[1]}="${pair[2]}"}`;
      out.set(key, (out.get(key) ?? 0) + value);
    }
  }
  return out;
}

/** GET <baseUrl>/metrics; undefined when the target has no /metrics or does not answer. */
export async function scrape(baseUrl: string, timeoutMs = 5000): Promise<Scrape | undefined> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return parsePrometheus(await res.text());
  } catch {
    return undefined;
  }
}

/** after − before for one series (0 when a counter has not appeared yet). */
export function delta(before: Scrape | undefined, after: Scrape | undefined, name: string): number | undefined {
  if (before === undefined || after === undefined) return undefined;
  return (after.get(name) ?? 0) - (before.get(name) ?? 0);
}
