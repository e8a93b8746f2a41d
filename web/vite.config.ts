/// <reference types="vitest/config" />
// Builds the dashboard into dist/: hashed, minified chunks (one per page via React.lazy) under
// assets/, and sw.js generated with the exact list of files to keep the shell usable offline.
import { defineConfig, transformWithEsbuild, type Plugin } from 'vite';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

function serviceWorker(): Plugin {
  return {
    name: 'herald-service-worker',
    apply: 'build',
    async generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((f) => f.startsWith('assets/')).sort();
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12);
      const template = readFileSync(new URL('./src/sw-template.js', import.meta.url), 'utf8');
      const precache = ['/', '/manifest.webmanifest', '/icon.svg', ...files.map((f) => '/' + f)];
      // The request policy, tested on its own, becomes plain functions of the classic script.
      const policyFile = new URL('./src/sw-policy.ts', import.meta.url);
      const policy = await transformWithEsbuild(readFileSync(policyFile, 'utf8'), policyFile.pathname, {
        loader: 'ts',
        format: 'esm',
      });
      const inline = policy.code.replace(/^export\s*\{[^}]*\};?\s*$/m, '').replace(/^export /gm, '');
      const source = template
        .replace(/\/\* __POLICY__[^*]*\*\//, () => inline)
        .replace('__VERSION__', () => JSON.stringify(version))
        .replace('__PRECACHE__', () => JSON.stringify(precache));
      this.emitFile({ type: 'asset', fileName: 'sw.js', source });
    },
  };
}

export default defineConfig({
  plugins: [serviceWorker()],
  // React's automatic JSX runtime through Vite's own esbuild transform (no plugin needed).
  esbuild: { jsx: 'automatic' },
  build: {
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/health': 'http://127.0.0.1:8080' },
  },
  test: {
    environment: 'jsdom',
    include: ['src/__tests__/**/*.test.tsx', 'src/__tests__/**/*.test.ts'],
    setupFiles: ['src/__tests__/setup.ts'],
  },
});
