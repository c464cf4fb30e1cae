// The lanes of one tab as a paying client sees them: the latest accepted state of each, which lanes carry a call
// right now, and a queue of calls waiting for a lane. A lane carries one call at a time (the gateway answers 409
// lane_busy otherwise), so concurrent calls each take their own lane — the lowest free one, which keeps the number
// of tabs to settle small — and calls beyond the gateway's lane count wait their turn.
//
// A lane held by a call whose outcome never reached the client (a crash between send and answer) is freed when its
// lease runs out; if the gateway did take that call, the next voucher on the lane gets a corrective 402.
import type { LaneState } from "./voucher-scheme.ts";

interface Hold {
  /** Identifies the call holding the lane, so a late outcome of an earlier call cannot free a later one. */
  token: number;
  until: number;
}

interface Waiter {
  maxLanes: number;
  leaseMs: number;
  resolve: (grant: LaneGrant) => void;
}

export interface LaneGrant {
  lane: number;
  token: number;
}

export class LanePool {
  readonly #states = new Map<number, LaneState>();
  readonly #held = new Map<number, Hold>();
  /** Lanes another client (or an earlier run of this one) is using at the gateway: left alone until then. */
  readonly #avoid = new Map<number, number>();
  readonly #waiters: Waiter[] = [];
  readonly #now: () => number;
  #nextToken = 1;
  #timer: NodeJS.Timeout | undefined;

  constructor(initial: readonly LaneState[] = [], now: () => number = Date.now) {
    for (const state of initial) this.#states.set(state.lane, state);
    this.#now = now;
  }

  /** The lane's latest accepted state, or undefined for a lane never used (cumulative zero). */
  state(lane: number): LaneState | undefined {
    return this.#states.get(lane);
  }

  states(): LaneState[] {
    return [...this.#states.values()].sort((a, b) => a.lane - b.lane);
  }

  /** Records a lane's state as the gateway accepted it (or as a corrective 402 says it is). */
  set(state: LaneState): void {
    this.#states.set(state.lane, state);
  }

  /** Calls holding a lane right now. */
  get inFlight(): number {
    const now = this.#now();
    let n = 0;
    for (const hold of this.#held.values()) if (hold.until > now) n++;
    return n;
  }

  /** Waits for a free lane below `maxLanes` and holds it for at most `leaseMs`. */
  acquire(maxLanes: number, leaseMs: number): Promise<LaneGrant> {
    // Waiters are served first, so a steady stream of new calls cannot starve them.
    if (this.#waiters.length === 0) {
      const grant = this.#take(maxLanes, leaseMs);
      if (grant) return Promise.resolve(grant);
    }
    return new Promise((resolve) => {
      this.#waiters.push({ maxLanes, leaseMs, resolve });
      this.#wake();
    });
  }

  /** True while `grant` still holds its lane (its lease has not run out and it was not released). */
  holds(grant: LaneGrant): boolean {
    const hold = this.#held.get(grant.lane);
    return hold !== undefined && hold.token === grant.token && hold.until > this.#now();
  }

  /** Frees the lane `grant` holds (no-op when it no longer holds it). */
  release(grant: LaneGrant): void {
    const hold = this.#held.get(grant.lane);
    if (!hold || hold.token !== grant.token) return;
    this.#held.delete(grant.lane);
    this.#wake();
  }

  /** Keeps calls off a lane for `ms` (the gateway said another call is on it). */
  avoid(lane: number, ms: number): void {
    this.#avoid.set(lane, this.#now() + ms);
  }

  #take(maxLanes: number, leaseMs: number): LaneGrant | undefined {
    const now = this.#now();
    for (let lane = 0; lane < maxLanes; lane++) {
      const hold = this.#held.get(lane);
      if (hold && hold.until > now) continue;
      const avoidUntil = this.#avoid.get(lane);
      if (avoidUntil !== undefined) {
        if (avoidUntil > now) continue;
        this.#avoid.delete(lane);
      }
      const token = this.#nextToken++;
      this.#held.set(lane, { token, until: now + leaseMs });
      return { lane, token };
    }
    return undefined;
  }

  /** Hands free lanes to waiters in order, and sets a timer for the next lease or avoidance that runs out. */
  #wake(): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0]!;
      const grant = this.#take(waiter.maxLanes, waiter.leaseMs);
      if (!grant) break;
      this.#waiters.shift();
      waiter.resolve(grant);
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#waiters.length === 0) return;
    const now = this.#now();
    let soonest = Infinity;
    for (const hold of this.#held.values()) if (hold.until > now) soonest = Math.min(soonest, hold.until);
    for (const until of this.#avoid.values()) if (until > now) soonest = Math.min(soonest, until);
    if (soonest === Infinity) return;
    this.#timer = setTimeout(() => this.#wake(), Math.max(1, soonest - now));
  }
}
