import { test as base, expect, type ConsoleMessage } from '@playwright/test';

/**
 * The `test` every end-to-end spec imports. Its automatic `siteGuard` fixture fails a test
 * when, at any point during it:
 * - any page of the browser context requests a URL on a host other than 127.0.0.1 or
 *   localhost (the request is aborted, recorded, and reported at the end), or
 * - the browser logs a console error or a page throws an uncaught error.
 *
 * Nothing is allowed by default. A test that provokes an error on purpose lists the
 * messages it expects:
 *
 *   test.use({ expectedConsoleErrors: [/Checkpoint .* expects codebook size/] });
 */

export { expect };

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Returns true for URLs that stay on this machine. data:, blob: and about: URLs load nothing. */
function isLocalUrl(url: URL): boolean {
  if (['data:', 'blob:', 'about:'].includes(url.protocol)) return true;
  return LOCAL_HOSTS.has(url.hostname);
}

function describeConsoleMessage(message: ConsoleMessage): string {
  const { url, lineNumber } = message.location();
  const where = url ? ` (${url}:${lineNumber})` : '';
  return `${message.text()}${where}`;
}

interface GuardOptions {
  /** Patterns of the console or page errors this test expects, tested against each message. */
  expectedConsoleErrors: RegExp[];
}

interface GuardFixtures {
  siteGuard: void;
}

export const test = base.extend<GuardFixtures & GuardOptions>({
  expectedConsoleErrors: [[], { option: true }],

  siteGuard: [
    async ({ context, expectedConsoleErrors }, use) => {
      const offsiteRequests: string[] = [];
      const unexpectedErrors: string[] = [];

      function recordOffsite(url: string): void {
        if (!offsiteRequests.includes(url)) offsiteRequests.push(url);
      }

      function recordError(text: string): void {
        if (!expectedConsoleErrors.some((pattern) => pattern.test(text))) unexpectedErrors.push(text);
      }

      // Routing aborts the request before it leaves the browser. The `request` listener
      // records requests as well, in case one bypasses routing.
      await context.route(
        (url) => !isLocalUrl(url),
        async (route) => {
          recordOffsite(route.request().url());
          await route.abort('blockedbyclient');
        },
      );
      await context.routeWebSocket(
        (url) => !isLocalUrl(url),
        async (webSocket) => {
          recordOffsite(webSocket.url());
          await webSocket.close();
        },
      );
      context.on('request', (request) => {
        if (!isLocalUrl(new URL(request.url()))) recordOffsite(request.url());
      });

      context.on('console', (message) => {
        if (message.type() === 'error') recordError(describeConsoleMessage(message));
      });
      context.on('weberror', (webError) => {
        const error = webError.error();
        recordError(`Uncaught ${error.name}: ${error.message}`);
      });

      await use();

      expect(offsiteRequests, 'requests to hosts other than 127.0.0.1 or localhost').toEqual([]);
      expect(unexpectedErrors, 'console errors and uncaught page errors').toEqual([]);
    },
    { auto: true },
  ],
});
