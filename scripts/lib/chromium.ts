/**
 * Chromium launch settings shared by the tests and the bench: Debian's package when installed, headless,
 * with the background services off. Without those flags Chromium keeps trying hosts that
 * this machine's closed network refuses.
 */
import { existsSync } from 'node:fs';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium if present, otherwise undefined (Playwright's own download, if any). */
export function chromiumExecutablePath(): string | undefined {
  return ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((path) => existsSync(path));
}
