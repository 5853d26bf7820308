import { MoltbotError } from "../errors.js";

/*
 * What the CLI reads from a person or a pipe: a y/N answer, a secret typed without echo, or a
 * bounded stdin. Loaded only by the commands that read (main.ts imports it on first use), since
 * creating process.stdin loads Node's stream, net and tty modules.
 */

/** Ask `question [y/N]` on stderr and read the answer from the terminal; false on anything but y/yes. */
export async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    let answered = false;
    const answer = (yes: boolean) => {
      // Settle before closing: close() emits "close" at once, and that handler means "no answer".
      answered = true;
      resolve(yes);
      rl.close();
    };
    // End of input (Ctrl-D) or Ctrl-C: no answer is a no. End the prompt's line for what follows.
    rl.on("close", () => {
      if (answered) return;
      process.stderr.write("\n");
      resolve(false);
    });
    rl.on("SIGINT", () => rl.close());
    rl.question(`${question} [y/N] `, (text) => answer(/^y(es)?$/i.test(text.trim())));
  });
}

const tooLong = (maxBytes: number) =>
  new MoltbotError(
    "USAGE",
    `Standard input is longer than ${maxBytes} bytes, more than any token; pipe in only the token.`,
  );

/**
 * One line typed on the terminal without echo (like `read -s`), after `prompt` on stderr. The
 * terminal is in raw mode meanwhile, so Enter, Backspace, Ctrl-U, Ctrl-D and Ctrl-C are handled here.
 */
export function readHiddenLine(prompt: string, maxBytes: number): Promise<string> {
  const stdin = process.stdin;
  // Echo off before the prompt: whatever is typed once the prompt shows is never echoed.
  stdin.setRawMode(true);
  process.stderr.write(prompt);
  stdin.setEncoding("utf8");
  let line = "";
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      stdin.removeListener("data", onData);
      stdin.removeListener("end", onEnd);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(line);
    };
    const onEnd = () => finish();
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish();
        if (char === "\u0003") return finish(new MoltbotError("USAGE", "Cancelled: no token was read."));
        if (char === "\u007f" || char === "\b") line = [...line].slice(0, -1).join("");
        else if (char === "\u0015") line = "";
        else line += char;
        if (Buffer.byteLength(line) > maxBytes) return finish(tooLong(maxBytes));
      }
    };
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
}

/**
 * All of stdin (a pipe or a file), but never more than `maxBytes`: past that it stops reading and
 * closes stdin, so `yes | moltbot devices verify …` ends at once instead of filling memory.
 */
export function readBoundedStdin(maxBytes: number): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stdin.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stdin.destroy();
        reject(tooLong(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    stdin.on("error", reject);
  });
}
