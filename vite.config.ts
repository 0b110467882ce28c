import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";

const web = fileURLToPath(new URL("./src/web", import.meta.url));

// The hub's two pages, built into dist/web and served by the hub itself (src/hub/web-pages.ts):
// every asset is local (no CDN) and no script is inline, so the pages work offline under a strict CSP.
export default defineConfig({
  root: web,
  base: "/",
  plugins: [preact()],
  // The browser worker's session and search threads are module workers (a session starts its own).
  worker: { format: "es" },
  build: {
    outDir: fileURLToPath(new URL("./dist/web", import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      // bench/ is for `dpow bench --only browser` (src/bench/browser.ts); the hub does not serve it.
      input: {
        dashboard: `${web}/index.html`,
        worker: `${web}/worker/index.html`,
        bench: `${web}/bench/index.html`,
      },
    },
  },
});
