import { defineConfig } from "vite";

export default defineConfig({
  // Top-level await in the entry needs es2022. The editors' chunk (CodeMirror with two
  // languages, Yjs and y-codemirror.next: about 700 KB minified, 230 KB gzip) loads in
  // parallel with the room, so it may pass Vite's default warning line.
  build: { target: "es2022", outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 800 },
});
