// Unlock times are shown both as a date and relative to the chain's clock (which may run ahead on a dev chain).

export function describeUnlock(unlockAt: bigint, now: bigint): string {
  const date = new Date(Number(unlockAt) * 1000).toISOString();
  if (unlockAt <= now) return `${date} (unlocked)`;
  return `${date} (in ${duration(unlockAt - now)})`;
}

export function duration(seconds: bigint): string {
  let s = Number(seconds);
  const parts: string[] = [];
  for (const [unit, size] of [["d", 86_400], ["h", 3_600], ["m", 60]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join(" ");
}
