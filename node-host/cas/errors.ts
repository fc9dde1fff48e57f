// One error type for the store, with a stable `code` callers can branch on
// (the transfer layer retries on EHASHMISMATCH, the CLI prints EBADLINK as a usage error, ...).

export type CasErrorCode =
  | "EHASHMISMATCH" // bytes do not hash to the id they were offered under
  | "EBADMANIFEST" // a manifest failed to parse or validate
  | "EBADLINK" // a share link or content id failed to parse
  | "EDECRYPT" // AES-GCM authentication failed (wrong key or tampered bytes)
  | "EMISSINGCHUNK" // assembling needs a chunk the store does not hold
  | "ENOTFOUND" // the object asked for is not in the store
  | "EEXIST"; // the output file exists and overwriting was not asked for

export class CasError extends Error {
  constructor(
    readonly code: CasErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "CasError";
  }
}
