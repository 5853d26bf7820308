/**
 * The I/O of a notice: one HTTP request with Node's fetch, or one `imsg rpc` exchange. Each is
 * bounded by the notice's deadline (an AbortSignal), never retried (a retry after a timeout could
 * deliver the message twice), and never follows a redirect (it would carry the token elsewhere).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { HttpRequest, Reading } from "./requests.js";

export class NoticeFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "NoticeFailure";
  }
}

/** Enough for any answer these APIs give to one send; more is not read. */
const MAX_ANSWER_BYTES = 256 * 1024;

export interface HttpAnswer {
  status: number;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "the API";
  }
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "name lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "connection closed",
};

function timeoutReason(host: string, timeoutMs: number): string {
  return `no answer from ${host} within ${timeoutMs / 1000} s (the message may still arrive; it was not sent again)`;
}

/** Describe a fetch failure from its cause's code only: messages can quote the URL, and so the token. */
function networkReason(error: unknown, host: string, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return timeoutReason(host, timeoutMs);
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : undefined;
  if (code !== undefined && NETWORK_CODES[code]) return `cannot reach ${host} (${NETWORK_CODES[code]})`;
  if (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED|VERIFY/i.test(code))
    return `TLS error talking to ${host} (${code})`;
  return `cannot reach ${host}${code !== undefined ? ` (${code})` : ""}`;
}

async function readBounded(response: Response): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done || value === undefined) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Send one request and read its answer, within `signal`; throws NoticeFailure with the reason. */
export async function sendHttp(request: HttpRequest, signal: AbortSignal, timeoutMs: number): Promise<HttpAnswer> {
  const host = hostOf(request.url);
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal,
    });
  } catch (error) {
    throw new NoticeFailure(networkReason(error, host, signal, timeoutMs));
  }
  let text: string;
  try {
    text = await readBounded(response);
  } catch (error) {
    throw new NoticeFailure(networkReason(error, host, signal, timeoutMs));
  }
  if (response.status >= 300 && response.status < 400)
    throw new NoticeFailure(`${host} answered with a redirect (HTTP ${response.status}); not followed`);
  let body: unknown;
  try {
    body = text.trim() === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

/** The value a reading carries, or a NoticeFailure with its reason. */
export function expectOk<T>(reading: Reading<T>): T {
  if (!reading.ok) throw new NoticeFailure(reading.reason);
  return reading.value;
}

/** `name` on $PATH as an executable file, as execvp would find it. */
export function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface ImsgExchange {
  command: string;
  args: readonly string[];
  /** The one line written to its stdin. */
  line: string;
  /** Reads one line of its stdout: the answer, or undefined for anything else. */
  read: (line: string) => Reading | undefined;
  env: NodeJS.ProcessEnv;
}

/**
 * Run `imsg rpc`, write one request, wait for its answer. Spawned with an argument vector and no
 * shell, so nothing in a path or id is ever interpreted; killed at the deadline.
 */
export function runImsg(exchange: ImsgExchange, signal: AbortSignal, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(exchange.command, [...exchange.args], {
      stdio: ["pipe", "pipe", "pipe"],
      shell: false,
      env: exchange.env,
    });
    let settled = false;
    let stdout = "";
    let stderr = "";
    const finish = (failure?: string) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      if (failure !== undefined) {
        child.kill("SIGKILL");
        reject(new NoticeFailure(failure));
        return;
      }
      // Done: close its stdin so it exits; one that lingers is not waited for.
      child.stdin.end();
      const linger = setTimeout(() => child.kill("SIGTERM"), 500);
      linger.unref();
      child.once("close", () => clearTimeout(linger));
      resolve();
    };
    const onAbort = () => finish(`imsg gave no answer within ${timeoutMs / 1000} s (the message may still arrive)`);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort);
    child.on("error", (error: NodeJS.ErrnoException) => {
      const why = error.code === "ENOENT" ? "not found" : error.code === "EACCES" ? "not executable" : error.code;
      finish(`cannot run ${exchange.command} (${why ?? "spawn failed"})`);
    });
    child.stdin.on("error", () => {
      // It exited before reading: its exit status says why.
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      let newline: number;
      while ((newline = stdout.indexOf("\n")) !== -1) {
        const answer = exchange.read(stdout.slice(0, newline).trim());
        stdout = stdout.slice(newline + 1);
        if (answer !== undefined) return finish(answer.ok ? undefined : answer.reason);
      }
      if (stdout.length > MAX_ANSWER_BYTES) finish("imsg wrote an answer too long to read");
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      if (stderr.length < 4096) stderr += chunk;
    });
    child.on("close", (code, exitSignal) => {
      const said = stderr.split("\n").find((text) => text.trim() !== "");
      const how = exitSignal ? `signal ${exitSignal}` : `code ${code}`;
      finish(`imsg exited (${how}) without answering${said ? `: ${said.trim().slice(0, 200)}` : ""}`);
    });
    child.stdin.write(exchange.line);
  });
}
