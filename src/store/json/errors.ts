import { MoltbotError } from "../../errors.js";

// Not "move it aside": for a permission, owner or lock problem --fix repairs in place and moves nothing.
export const DOCTOR_HINT =
  'Run "moltbot doctor" to diagnose it ("moltbot doctor --fix" repairs what is safe to repair).';

export const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** Map an fs error on `file` to the store error the operator should see: what happened, what to do. */
export function storeIoError(error: unknown, file: string, doing: "reading" | "writing" | "creating"): MoltbotError {
  const code = errnoOf(error);
  const verb = doing === "reading" ? "read" : doing === "writing" ? "write" : "create";
  const options = { cause: error };
  switch (code) {
    case "EROFS":
      return new MoltbotError(
        "STORE_PERMISSION",
        `Could not ${verb} ${file}: the file system is read-only. Nothing was changed.`,
        options,
      );
    case "ENOSPC":
    case "EDQUOT":
      return new MoltbotError(
        "STORE_IO",
        `Could not ${verb} ${file}: ${code === "ENOSPC" ? "no space left on the device" : "disk quota exceeded"}. Nothing was changed; free some space and run the command again.`,
        options,
      );
    case "EACCES":
    case "EPERM":
      return new MoltbotError(
        "STORE_PERMISSION",
        `Permission denied ${doing} ${file}. Check its owner and mode (a file written by "sudo moltbot" belongs to root). ${DOCTOR_HINT}`,
        options,
      );
    case "EISDIR":
      return new MoltbotError("STORE_CORRUPT", `${file} is a directory, not a store file. ${DOCTOR_HINT}`, options);
    case "ELOOP":
      return new MoltbotError(
        "STORE_CORRUPT",
        `${file} is a symbolic link: moltbot uses only regular files inside the state directory and never follows a link there. ${DOCTOR_HINT}`,
        options,
      );
    default: {
      const reason = code ?? (error instanceof Error ? error.message : String(error));
      return new MoltbotError("STORE_IO", `Could not ${verb} ${file} (${reason}). ${DOCTOR_HINT}`, options);
    }
  }
}
