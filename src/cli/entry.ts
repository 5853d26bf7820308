// The built CLI's entry point (dist/cli.cjs). bin/moltbot.js loads this file and calls main().
export { main } from "./main.js";
