import { defineConfig } from "vite";

export default defineConfig({
  // Top-level await in the entry needs es2022.
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
});
