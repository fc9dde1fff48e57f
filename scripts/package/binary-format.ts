// What machine a native binary is for, read from its header: ELF (Linux), PE (Windows) or Mach-O
// (macOS, thin or universal), its CPU, and for ELF the C library it links against (glibc or musl,
// from the DT_NEEDED entries of its dynamic section). Used to check that a .vsix for one target
// carries no binary for another.

export type BinaryKind = "elf" | "pe" | "macho";
/** Node's names for CPUs (process.arch), or "machine 0x…" for one not listed. */
export type CpuName = string;

export interface BinaryFormat {
  kind: BinaryKind;
  /** The CPUs it holds code for (a universal Mach-O can hold several). */
  cpus: CpuName[];
  /** ELF only: the C library it needs, or null when it names none (static, or no dynamic section). */
  libc?: "glibc" | "musl" | null;
  /** PE only: a DLL (a .node file is one), not a program. */
  dll?: boolean;
}

const ELF_MACHINES: Record<number, CpuName> = { 0x03: "ia32", 0x28: "arm", 0x3e: "x64", 0xb7: "arm64", 0xf3: "riscv64" };
const PE_MACHINES: Record<number, CpuName> = { 0x14c: "ia32", 0x1c4: "arm", 0x8664: "x64", 0xaa64: "arm64" };
const MACHO_CPUS: Record<number, CpuName> = { 0x7: "ia32", 0x01000007: "x64", 0xc: "arm", 0x0100000c: "arm64" };

function cpuName(table: Record<number, CpuName>, code: number): CpuName {
  return table[code] ?? `machine 0x${code.toString(16)}`;
}

/** The binary format of `bytes` (a whole file), or null when it is none of the three. */
export function binaryFormatOf(bytes: Buffer): BinaryFormat | null {
  if (bytes.length >= 20 && bytes.readUInt32BE(0) === 0x7f454c46) return elfFormat(bytes);
  if (bytes.length >= 64 && bytes.toString("latin1", 0, 2) === "MZ") return peFormat(bytes);
  if (bytes.length >= 8) {
    const le = bytes.readUInt32LE(0);
    if (le === 0xfeedfacf || le === 0xfeedface) return { kind: "macho", cpus: [cpuName(MACHO_CPUS, bytes.readInt32LE(4))] };
    if (bytes.readUInt32BE(0) === 0xcafebabe) return fatMachO(bytes);
  }
  return null;
}

function peFormat(bytes: Buffer): BinaryFormat | null {
  const pe = bytes.readUInt32LE(0x3c);
  if (pe + 24 > bytes.length || bytes.readUInt32BE(pe) !== 0x50450000) return null; // "PE\0\0"
  return { kind: "pe", cpus: [cpuName(PE_MACHINES, bytes.readUInt16LE(pe + 4))], dll: (bytes.readUInt16LE(pe + 22) & 0x2000) !== 0 };
}

function fatMachO(bytes: Buffer): BinaryFormat | null {
  const count = bytes.readUInt32BE(4);
  // Java class files share the magic; their next field (a version) is far larger than any slice count
  if (count === 0 || count > 16 || 8 + count * 20 > bytes.length) return null;
  const cpus: CpuName[] = [];
  for (let i = 0; i < count; i++) cpus.push(cpuName(MACHO_CPUS, bytes.readInt32BE(8 + i * 20)));
  return { kind: "macho", cpus };
}

/** Reads the fields of a 32- or 64-bit little-endian ELF file that matter here. */
function elfFormat(bytes: Buffer): BinaryFormat | null {
  const is64 = bytes[4] === 2;
  if (bytes[5] !== 1) return { kind: "elf", cpus: [cpuName(ELF_MACHINES, bytes.readUInt16BE(18))], libc: null }; // big-endian: no such target
  const machine = bytes.readUInt16LE(18);
  return { kind: "elf", cpus: [cpuName(ELF_MACHINES, machine)], libc: libcOf(neededLibraries(bytes, is64)) };
}

function libcOf(needed: string[]): "glibc" | "musl" | null {
  if (needed.some((n) => n.startsWith("libc.musl-") || n === "libc.so")) return "musl";
  if (needed.includes("libc.so.6")) return "glibc";
  return null;
}

/** The DT_NEEDED names of an ELF file (the shared libraries it loads); empty when it has none. */
export function neededLibraries(bytes: Buffer, is64: boolean): string[] {
  if (bytes.length < (is64 ? 64 : 52)) return []; // shorter than an ELF header
  const word = (at: number) => (is64 ? Number(bytes.readBigUInt64LE(at)) : bytes.readUInt32LE(at));
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = bytes.readUInt16LE(is64 ? 0x3a : 0x2e);
  const shnum = bytes.readUInt16LE(is64 ? 0x3c : 0x30);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: bytes.readUInt32LE(at + 4), offset: word(at + (is64 ? 0x18 : 0x10)), size: word(at + (is64 ? 0x20 : 0x14)), link: bytes.readUInt32LE(at + (is64 ? 0x28 : 0x18)) };
  };
  if (shoff === 0 || shoff + shnum * shentsize > bytes.length) return [];
  const names: string[] = [];
  for (let i = 0; i < shnum; i++) {
    const dyn = section(i);
    if (dyn.type !== 6 /* SHT_DYNAMIC */ || dyn.link >= shnum || dyn.offset + dyn.size > bytes.length) continue;
    const strtab = section(dyn.link).offset;
    const entry = is64 ? 16 : 8;
    for (let at = dyn.offset; at + entry <= dyn.offset + dyn.size; at += entry) {
      const tag = word(at);
      if (tag === 0) break; // DT_NULL
      if (tag !== 1) continue; // DT_NEEDED
      const start = strtab + word(at + entry / 2);
      const end = bytes.indexOf(0, start);
      if (start < bytes.length && end > start) names.push(bytes.toString("latin1", start, end));
    }
  }
  return names;
}
