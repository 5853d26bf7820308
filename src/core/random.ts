/** A source of cryptographically random bytes; injected so tests can be deterministic. */
export type RandomBytes = (size: number) => Uint8Array;
