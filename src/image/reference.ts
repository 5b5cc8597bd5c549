import { existsSync } from 'node:fs';
import { imageError } from './errors.js';

// "SOURCE[:TAG]" on the command line, and picking one image out of several.

/** Splits "dir:tag" or "img.tar:name:tag"; the longest prefix that exists is the path. */
export function splitSource(arg: string): { path: string; tag?: string } {
  if (existsSync(arg)) return { path: arg };
  for (let i = arg.indexOf(':'); i > 0; i = arg.indexOf(':', i + 1)) {
    if (existsSync(arg.slice(0, i))) return { path: arg.slice(0, i), tag: arg.slice(i + 1) };
  }
  throw imageError(`${arg}: no such file or directory`, arg);
}

export interface Candidate<T> {
  /** names it is known by: "busybox:latest", "docker.io/library/busybox:1.36", "latest" */
  tags: string[];
  value: T;
}

/** The forms of one tag a user may type: full, "name:tag", the bare tag, and without ":latest". */
function forms(tag: string): string[] {
  const out = new Set([tag]);
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  const last = tag.slice(slash + 1);
  out.add(last);
  if (colon > slash) {
    out.add(tag.slice(colon + 1));
    if (tag.endsWith(':latest')) {
      out.add(tag.slice(0, colon));
      out.add(last.slice(0, last.lastIndexOf(':')));
    }
  }
  return [...out];
}

function listing<T>(cands: Candidate<T>[]): string {
  return cands.map((c, i) => (c.tags.length ? c.tags.join(', ') : `<untagged #${i + 1}>`)).join('; ');
}

export function pickImage<T>(cands: Candidate<T>[], tag: string | undefined, source: string): { value: T; ref?: string } {
  if (cands.length === 0) throw imageError(`${source}: holds no image`, source);
  if (tag === undefined) {
    if (cands.length === 1) return { value: cands[0]!.value, ref: cands[0]!.tags[0] };
    throw imageError(`${source}: holds ${cands.length} images, say which one as ${source}:TAG; tags: ${listing(cands)}`, source);
  }
  const hits = cands.filter((c) => c.tags.some((t) => forms(t).includes(tag)));
  if (hits.length === 1) return { value: hits[0]!.value, ref: hits[0]!.tags.find((t) => forms(t).includes(tag)) };
  if (hits.length === 0) throw imageError(`${source}: no image tagged "${tag}"; tags: ${listing(cands)}`, source);
  throw imageError(`${source}: tag "${tag}" matches ${hits.length} images: ${listing(hits)}; give the full name`, source);
}
