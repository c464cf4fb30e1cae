// Who holds a settlement lock: "<host>:<pid>:<nonce>". SQLite locks are rows that outlive their holder, so a holder
// that was killed would block settlement until its lease ran out; on the same host we can tell at once that its
// process is gone, and a gateway restarted after a crash settles without waiting out the lease.
import { hostname } from "node:os";

export function newLockOwner(): string {
  return `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
}

/** True only when `owner` names a process on this host that no longer exists; unknown formats and hosts are alive. */
export function lockOwnerIsGone(owner: string): boolean {
  const [host, pidText] = owner.split(":");
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
