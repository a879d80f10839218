// How Kodiak names itself to image APIs and image hosts. Wikimedia's User-Agent policy
// (https://meta.wikimedia.org/wiki/User-Agent_policy) requires contact information, a URL or an
// email, and refuses clients without it with 403, on the API and on upload.wikimedia.org alike.
// So every search and download sends `Kodiak/<version> (<HTTP_CONTACT>) undici/<version>`, and
// without HTTP_CONTACT the operator is told which providers will refuse or throttle, and why.
import { createRequire } from 'node:module';
import type { Config } from '../config.js';
import { VERSION } from '../version.js';

const UNDICI_VERSION: string = (createRequire(import.meta.url)('undici/package.json') as { version: string }).version;

export function userAgent(contact?: string): string {
  return `Kodiak/${VERSION}${contact ? ` (${contact})` : ''} undici/${UNDICI_VERSION}`;
}

export const WIKIMEDIA_NEEDS_CONTACT =
  "skipped: Wikimedia's User-Agent policy refuses clients without contact information (403); set HTTP_CONTACT to a URL or an email";

export interface SearchNote {
  /** `refused`: requests would be (or are not sent because they would be) refused; `throttled`: slowed down. */
  kind: 'refused' | 'throttled';
  text: string;
}

/**
 * What the configuration means for the image providers it lists: who will refuse us and who will
 * throttle us, and why. Shown at start-up, in /status and in collection reports.
 */
export function searchNotes(config: Config): SearchNote[] {
  const notes: SearchNote[] = [];
  const listed = new Set(config.SEARCH_PROVIDERS);
  if (!config.HTTP_CONTACT) {
    const wiki = listed.has('wikimedia') ? 'Wikimedia Commons is skipped (its User-Agent policy refuses clients without contact information with 403) and ' : '';
    notes.push({ kind: 'refused', text: `HTTP_CONTACT is not set: ${wiki}images on upload.wikimedia.org may be refused; set it to a URL or an email where image APIs can reach you` });
  }
  if (listed.has('openverse') && !(config.OPENVERSE_CLIENT_ID && config.OPENVERSE_CLIENT_SECRET)) {
    const budget = config.OPENVERSE_ANON_RATE.map((r) => `${r.limit}/${r.unit}`).join(' and ');
    notes.push({ kind: 'throttled', text: `Openverse is used anonymously, paced to ${budget} (OPENVERSE_ANON_RATE, its anonymous budget); credentials of a verified Openverse application raise it` });
  }
  if (listed.has('duckduckgo')) {
    notes.push({ kind: 'refused', text: 'DuckDuckGo is experimental: it has no API, looks for a browser, and may refuse Kodiak, which does not pretend to be one' });
  }
  return notes;
}
