// Safe publishing: a share the node refuses until the user confirms (content.share fails with
// NeedsConfirmation and the reasons in its data). What the confirmation dialog says. Pure.
import { RpcErrors, type PublishWarning } from "../node-host/rpc/api-types";

export const SHARE_ANYWAY = "Share Anyway";

const KINDS: readonly PublishWarning["kind"][] = ["git-ignored", "secret", "large"];

/**
 * The warnings of a share that needs confirmation (JSON-RPC error -32010 with
 * `data: { warnings }`); undefined for any other error. The data comes from the node: only
 * well-formed warnings are kept.
 */
export function confirmationWarnings(err: unknown): PublishWarning[] | undefined {
  if (!err || typeof err !== "object") return undefined;
  const e = err as { code?: unknown; data?: unknown };
  if (e.code !== RpcErrors.NeedsConfirmation) return undefined;
  const list = e.data && typeof e.data === "object" ? (e.data as { warnings?: unknown }).warnings : undefined;
  const warnings = Array.isArray(list)
    ? list.filter(
        (w): w is PublishWarning =>
          !!w && typeof w === "object" && KINDS.includes((w as PublishWarning).kind) && typeof (w as PublishWarning).message === "string",
      )
    : [];
  // a confirmation asked for with no (readable) reason still needs one
  return warnings.length ? warnings : [{ kind: "secret", message: "the node asks for confirmation before sharing this file" }];
}

const HEADINGS: Record<PublishWarning["kind"], string> = {
  "git-ignored": "Ignored by git",
  secret: "Looks like a secret",
  large: "Large file",
};

/** The modal's message and detail: each reason on its own line, then what sharing means. */
export function confirmShareText(name: string, warnings: readonly PublishWarning[]): { message: string; detail: string } {
  const secret = warnings.some((w) => w.kind === "secret");
  const message = secret ? `${name} may hold secrets. Share it anyway?` : `${name} may not be meant to leave this machine. Share it anyway?`;
  const lines = warnings.map((w) => `• ${HEADINGS[w.kind]}: ${w.message}`);
  lines.push("", "Whoever gets its link can fetch it, and other nodes keep copies of it: a share cannot be taken back.");
  return { message, detail: lines.join("\n") };
}
