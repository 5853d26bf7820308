// The built CLI's entry point (dist/cli.cjs). bin/moltbot.js loads this file and calls main();
// scripts/code-cache.mjs calls it too, to compile the commands it caches.
export { main } from "./main.js";
