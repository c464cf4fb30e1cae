// Exports every mutable global a WebAssembly module defines, under `__global_<index>`, so the host can read and
// restore them: together with a copy of linear memory that is the whole state of an instance, which lets one
// instance be rewound to the state a fresh one has after `_start`. Only the export section changes; code, data
// and every index stay as compiled.

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const SECTION_IMPORT = 2;
const SECTION_GLOBAL = 6;
const SECTION_EXPORT = 7;
const KIND_GLOBAL = 3;

export const GLOBAL_EXPORT_PREFIX = "__global_";

class Reader {
  readonly bytes: Uint8Array;
  offset: number;
  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.offset = offset;
  }
  byte(): number {
    if (this.offset >= this.bytes.length) throw new Error("unexpected end of module");
    return this.bytes[this.offset++]!;
  }
  /** Unsigned LEB128 (up to 32 bits). */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error("LEB128 too long");
    }
  }
  /** Skips a signed LEB128 of any length. */
  skipLeb(): void {
    while (this.byte() & 0x80);
  }
  skip(n: number): void {
    this.offset += n;
    if (this.offset > this.bytes.length) throw new Error("unexpected end of module");
  }
  name(): string {
    const length = this.u32();
    const start = this.offset;
    this.skip(length);
    return Buffer.from(this.bytes.subarray(start, start + length)).toString("utf8");
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

function skipLimits(r: Reader): void {
  const flags = r.byte();
  r.u32();
  if (flags & 1) r.u32();
}

/** A constant expression: the MVP opcodes and the extended-const arithmetic, up to `end`. */
function skipConstExpr(r: Reader): void {
  for (;;) {
    const op = r.byte();
    if (op === 0x0b) return;
    if (op === 0x41 || op === 0x42) r.skipLeb();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0x23 || op === 0xd2) r.u32();
    else if (op === 0xd0) r.byte();
    else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(op)) throw new Error(`unsupported opcode 0x${op.toString(16)} in a constant expression`);
  }
}

interface Section {
  id: number;
  start: number;
  payloadStart: number;
  end: number;
}

/**
 * The module with every mutable global it defines exported (the names of those exports, in index order). Throws on
 * anything it does not understand; callers then run the module unpatched.
 */
export function exportMutableGlobals(wasm: Uint8Array): { wasm: Uint8Array<ArrayBuffer>; globals: string[] } {
  if (!MAGIC.every((b, i) => wasm[i] === b)) throw new Error("not a WebAssembly module");
  const r = new Reader(wasm, 8);
  const sections: Section[] = [];
  while (r.offset < wasm.length) {
    const start = r.offset;
    const id = r.byte();
    const size = r.u32();
    sections.push({ id, start, payloadStart: r.offset, end: r.offset + size });
    r.skip(size);
  }

  let importedGlobals = 0;
  const imports = sections.find((s) => s.id === SECTION_IMPORT);
  if (imports) {
    const s = new Reader(wasm, imports.payloadStart);
    for (let count = s.u32(); count > 0; count--) {
      s.name();
      s.name();
      const kind = s.byte();
      if (kind === 0) s.u32();
      else if (kind === 1) {
        s.byte();
        skipLimits(s);
      } else if (kind === 2) skipLimits(s);
      else if (kind === KIND_GLOBAL) {
        s.byte();
        s.byte();
        importedGlobals++;
      } else throw new Error(`unsupported import kind ${kind}`);
    }
  }

  const mutable: number[] = [];
  const globals = sections.find((s) => s.id === SECTION_GLOBAL);
  if (globals) {
    const s = new Reader(wasm, globals.payloadStart);
    const count = s.u32();
    for (let i = 0; i < count; i++) {
      s.byte(); // value type
      if (s.byte() === 1) mutable.push(importedGlobals + i);
      skipConstExpr(s);
    }
  }

  const exports = sections.find((s) => s.id === SECTION_EXPORT);
  const entries: number[] = [];
  let existing = 0;
  const exportedGlobals = new Set<number>();
  if (exports) {
    const s = new Reader(wasm, exports.payloadStart);
    existing = s.u32();
    const body = s.offset;
    for (let i = 0; i < existing; i++) {
      s.name();
      const kind = s.byte();
      const index = s.u32();
      if (kind === KIND_GLOBAL) exportedGlobals.add(index);
    }
    entries.push(...wasm.subarray(body, exports.end));
  }
  const names: string[] = [];
  for (const index of mutable) {
    const name = `${GLOBAL_EXPORT_PREFIX}${index}`;
    const bytes = Buffer.from(name);
    entries.push(...leb(bytes.length), ...bytes, KIND_GLOBAL, ...leb(index));
    names.push(name);
  }
  const payload = [...leb(existing + mutable.length), ...entries];
  const section = [SECTION_EXPORT, ...leb(payload.length), ...payload];

  // The export section goes where it was, or before the first section that must follow it.
  const at = exports ?? sections.find((s) => s.id > SECTION_EXPORT && s.id !== 0);
  const cut = at ? at.start : wasm.length;
  const resume = exports ? exports.end : cut;
  const out = new Uint8Array(cut + section.length + (wasm.length - resume));
  out.set(wasm.subarray(0, cut), 0);
  out.set(section, cut);
  out.set(wasm.subarray(resume), cut + section.length);
  return { wasm: out, globals: names };
}
