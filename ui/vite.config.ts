import { defineConfig } from "vite";

// No React plugin: Vite's own transform (oxc) with the automatic JSX runtime is all this UI needs (no fast refresh in dev).
export default defineConfig({
  oxc: { jsx: { runtime: "automatic" } },
  server: {
    // `npm run dev` beside `gitward server` on its default port.
    proxy: { "/api": { target: "http://127.0.0.1:8081", changeOrigin: false } },
  },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 400 },
});
