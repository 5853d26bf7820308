// The built CLI's entry point (dist/cli.cjs); bin/moltbot.js only loads this file.
import { main } from "./main.js";

void main();
