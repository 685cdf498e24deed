// @ts-check
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Folder under the site's base path that contains the tfjs .wasm files. */
const TFJS_WASM_DIR = 'tfjs-wasm';

// The package's main entry lives in dist/, next to the .wasm files.
const require = createRequire(import.meta.url);
const wasmSourceDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));

/** Lists the .wasm files that @tensorflow/tfjs-backend-wasm ships. */
async function listWasmFiles() {
  const names = await readdir(wasmSourceDir);
  const wasmFiles = names.filter((name) => name.endsWith('.wasm'));
  if (wasmFiles.length === 0) {
    throw new Error(`No .wasm files found in ${wasmSourceDir}: reinstall dependencies with npm ci.`);
  }
  return wasmFiles;
}

/**
 * Serves the tfjs WebAssembly binaries under `<base>tfjs-wasm/` in `astro dev` and copies
 * them to `<outDir>/tfjs-wasm/` after `astro build`. The wasm backend fetches them from
 * the path given to `setWasmPaths`, so they must be plain static files of the site.
 * @returns {import('astro').AstroIntegration}
 */
export default function tfjsWasmAssets() {
  let siteBase = '/';

  return {
    name: 'tfjs-wasm-assets',
    hooks: {
      'astro:config:done': ({ config }) => {
        siteBase = config.base.endsWith('/') ? config.base : `${config.base}/`;
      },

      'astro:server:setup': async ({ server }) => {
        const wasmFiles = new Set(await listWasmFiles());
        const prefixes = [`${siteBase}${TFJS_WASM_DIR}/`, `/${TFJS_WASM_DIR}/`];

        server.middlewares.use(async (request, response, next) => {
          const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
          const prefix = prefixes.find((candidate) => pathname.startsWith(candidate));
          const fileName = prefix ? pathname.slice(prefix.length) : '';
          if (!wasmFiles.has(fileName)) {
            next();
            return;
          }

          const bytes = await readFile(join(wasmSourceDir, fileName));
          response.setHeader('Content-Type', 'application/wasm');
          response.setHeader('Content-Length', bytes.byteLength);
          response.end(bytes);
        });
      },

      'astro:build:done': async ({ dir, logger }) => {
        const targetDir = join(fileURLToPath(dir), TFJS_WASM_DIR);
        await mkdir(targetDir, { recursive: true });

        const wasmFiles = await listWasmFiles();
        for (const fileName of wasmFiles) {
          await copyFile(join(wasmSourceDir, fileName), join(targetDir, fileName));
        }
        logger.info(`copied ${wasmFiles.length} tfjs wasm binaries to ${targetDir}`);
      },
    },
  };
}
