// The memory of one module instance as AssemblyScript 0.19 lays it out, and graph-node's way of allocating in it:
// big chunks from the module's `allocate` export used as a bump arena, each object behind a 20-byte header
// (mmInfo, gcInfo, gcInfo2, rtId, rtSize) with a 16-byte aligned payload. Nothing is ever freed: the instance is
// dropped after its trigger.
import { DeterministicError } from "./errors.ts";
import type { TypeIdIndex } from "./type-ids.ts";

const HEADER = 20;
const MIN_ARENA = 10_000;
// `allocate` returns a 16-aligned pointer just past the block's 4-byte mmInfo; starting 12 bytes later puts every
// payload (header + 20) back on a 16-byte boundary.
const ARENA_OFFSET = 12;

export interface ModuleExports {
  memory: WebAssembly.Memory;
  allocate(size: number): number;
  id_of_type(index: number): number;
}

/** Runtime class ids of one compiled module, asked once through `id_of_type` and shared by all its instances. */
export class TypeIdCache {
  private readonly ids = new Map<number, number>();
  get(index: TypeIdIndex, exports: ModuleExports): number {
    let id = this.ids.get(index);
    if (id === undefined) {
      id = exports.id_of_type(index) >>> 0;
      this.ids.set(index, id);
    }
    return id;
  }
}

export class AscHeap {
  private readonly exports: ModuleExports;
  private readonly typeIds: TypeIdCache;
  private arenaStart = 0;
  private arenaFree = 0;
  u8!: Uint8Array;
  u16!: Uint16Array;
  u32!: Uint32Array;
  view!: DataView;

  constructor(exports: ModuleExports, typeIds: TypeIdCache) {
    this.exports = exports;
    this.typeIds = typeIds;
    this.refresh();
  }

  /** Typed views die when memory grows (the old buffer is detached); every access path calls this first. */
  refresh(): void {
    if (this.u8 !== undefined && this.u8.byteLength !== 0) return;
    const buffer = this.exports.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer, 0, buffer.byteLength >>> 1);
    this.u32 = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    this.view = new DataView(buffer);
  }

  /** Where the current arena stands; with `resumeArena`, a rewound instance allocates exactly where a fresh one would. */
  arena(): { start: number; free: number } {
    return { start: this.arenaStart, free: this.arenaFree };
  }

  resumeArena(arena: { start: number; free: number }): void {
    this.arenaStart = arena.start;
    this.arenaFree = arena.free;
  }

  typeId(index: TypeIdIndex): number {
    return this.typeIds.get(index, this.exports);
  }

  /** Allocates an object of `size` payload bytes with class `index`; returns the payload pointer (zeroed). */
  alloc(index: TypeIdIndex, size: number): number {
    const padded = (size + HEADER + 15) & ~15;
    if (padded > this.arenaFree) {
      const arena = Math.max(padded + ARENA_OFFSET, MIN_ARENA);
      const start = this.exports.allocate(arena) >>> 0;
      this.arenaStart = start + ARENA_OFFSET;
      this.arenaFree = arena - ARENA_OFFSET;
    }
    const rtId = this.typeId(index);
    this.refresh();
    const header = this.arenaStart;
    this.arenaStart += padded;
    this.arenaFree -= padded;
    const w = header >>> 2;
    const u32 = this.u32;
    u32[w] = padded - 4; // mmInfo: the block's size after itself
    u32[w + 1] = 0;
    u32[w + 2] = 0;
    u32[w + 3] = rtId;
    u32[w + 4] = size;
    // A fresh instance's memory is zeroed and arenas are never reused, so the payload needs no clearing.
    return header + HEADER;
  }

  /** Payload size in bytes of the object at `ptr` (its rtSize). */
  sizeOf(ptr: number): number {
    this.check(ptr, 0);
    return this.u32[(ptr - 4) >>> 2]!;
  }

  check(ptr: number, size: number): void {
    this.refresh();
    if (ptr === 0) {
      throw new DeterministicError(
        "tried to read an AssemblyScript value that is null: a graph-ts function got null where it needs a value",
      );
    }
    if (ptr < HEADER || ptr + size > this.u8.byteLength) {
      throw new DeterministicError(`heap access out of bounds: offset ${ptr}, size ${size}`);
    }
  }

  u32At(ptr: number): number {
    if ((ptr & 3) === 0) return this.u32[ptr >>> 2]!;
    return this.view.getUint32(ptr, true);
  }

  setU32(ptr: number, value: number): void {
    this.u32[ptr >>> 2] = value;
  }

  i32At(ptr: number): number {
    return this.u32At(ptr) | 0;
  }

  i64At(ptr: number): bigint {
    return this.view.getBigInt64(ptr, true);
  }

  setI64(ptr: number, value: bigint): void {
    this.view.setBigInt64(ptr, value, true);
  }

  f64At(ptr: number): number {
    return this.view.getFloat64(ptr, true);
  }

  bytesAt(ptr: number, length: number): Uint8Array {
    if (ptr + length > this.u8.byteLength) throw new DeterministicError(`heap access out of bounds: offset ${ptr}, size ${length}`);
    return this.u8.slice(ptr, ptr + length);
  }
}
