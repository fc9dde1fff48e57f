// Reading what machine a native binary is for (the .vsix check's tool): real ELF files of this
// machine, and PE and Mach-O headers laid out as their formats define them.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { binaryFormatOf } from "../../scripts/package/binary-format";

/** A minimal PE image header: "MZ", e_lfanew at 0x3c, "PE\0\0", machine, characteristics. */
function peHeader(machine: number, characteristics: number): Buffer {
  const b = Buffer.alloc(0x100);
  b.write("MZ", 0, "latin1");
  b.writeUInt32LE(0x80, 0x3c);
  b.write("PE\0\0", 0x80, "latin1");
  b.writeUInt16LE(machine, 0x84);
  b.writeUInt16LE(characteristics, 0x80 + 22);
  return b;
}

function machO(cputype: number): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt32LE(0xfeedfacf, 0);
  b.writeInt32LE(cputype, 4);
  return b;
}

function fatMachO(cputypes: number[]): Buffer {
  const b = Buffer.alloc(8 + cputypes.length * 20);
  b.writeUInt32BE(0xcafebabe, 0);
  b.writeUInt32BE(cputypes.length, 4);
  cputypes.forEach((c, i) => b.writeInt32BE(c, 8 + i * 20));
  return b;
}

test("ELF: the CPU and the C library of this machine's own binaries", { skip: process.platform !== "linux" || process.arch !== "x64" ? "reads linux-x64 binaries" : false }, () => {
  const node = binaryFormatOf(fs.readFileSync(process.execPath));
  assert.deepEqual(node, { kind: "elf", cpus: [process.arch], libc: "glibc" }, "the node executable running this test");
  const addon = require.resolve("@node-datachannel/linux-x64-gnu/node_datachannel.node");
  assert.deepEqual(binaryFormatOf(fs.readFileSync(addon)), { kind: "elf", cpus: ["x64"], libc: "glibc" });
});

test("PE: machine and DLL flag", () => {
  assert.deepEqual(binaryFormatOf(peHeader(0x8664, 0x2022)), { kind: "pe", cpus: ["x64"], dll: true });
  assert.deepEqual(binaryFormatOf(peHeader(0xaa64, 0x2022)), { kind: "pe", cpus: ["arm64"], dll: true });
  assert.deepEqual(binaryFormatOf(peHeader(0x14c, 0x0102)), { kind: "pe", cpus: ["ia32"], dll: false });
});

test("Mach-O: thin and universal", () => {
  assert.deepEqual(binaryFormatOf(machO(0x0100000c)), { kind: "macho", cpus: ["arm64"] });
  assert.deepEqual(binaryFormatOf(machO(0x01000007)), { kind: "macho", cpus: ["x64"] });
  assert.deepEqual(binaryFormatOf(fatMachO([0x01000007, 0x0100000c])), { kind: "macho", cpus: ["x64", "arm64"] });
});

test("anything else is no binary, and a cut header does not throw", () => {
  for (const text of ["#!/usr/bin/env node\n", "{}", ""]) assert.equal(binaryFormatOf(Buffer.from(text)), null);
  const javaClass = Buffer.from([0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x41]);
  assert.equal(binaryFormatOf(javaClass), null, "a Java class file shares the universal Mach-O magic");
  const cutElf = fs.readFileSync(process.execPath).subarray(0, 24);
  assert.deepEqual(binaryFormatOf(cutElf), { kind: "elf", cpus: [process.arch], libc: null });
  assert.equal(binaryFormatOf(Buffer.from("MZ" + "\0".repeat(100), "latin1")), null, "MZ without a PE header");
});
