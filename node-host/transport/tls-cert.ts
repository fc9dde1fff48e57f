// A throwaway self-signed certificate for the TLS bulk server, built in memory at start-up.
//
// Why a throwaway ECDSA P-256 certificate and not one carrying the node's Ed25519 key: peers are
// authenticated by the HELLO exchange over the TLS exporter (bulk-handshake.ts), not by the
// certificate, so the certificate only has to make OpenSSL complete a TLS 1.3 handshake. P-256 is
// the one certificate key type every TLS stack accepts; it keeps the identity key out of the TLS
// stack; and generating it per process means no file in the data dir to cache, expire or corrupt.
// node:crypto cannot write X.509, so the DER is assembled here (RFC 5280, the fields TLS needs).

import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";

function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}

const seq = (...c: Buffer[]) => der(0x30, ...c);
const ECDSA_WITH_SHA256 = seq(der(0x06, Buffer.from("2a8648ce3d040302", "hex")));
const COMMON_NAME_OID = der(0x06, Buffer.from("550403", "hex"));

function utcTime(d: Date): Buffer {
  const text = d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z"; // YYMMDDHHMMSSZ
  return der(0x17, Buffer.from(text, "ascii"));
}

export interface TlsCredentials {
  key: string;
  cert: string;
}

export function makeSelfSignedCert(commonName = "peershare bulk"): TlsCredentials {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const name = seq(der(0x31, seq(COMMON_NAME_OID, der(0x0c, Buffer.from(commonName, "utf8")))));
  const serial = randomBytes(12);
  serial[0] = (serial[0] & 0x3f) | 0x40; // positive, and minimal DER (no leading zero byte)
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // version v3
    der(0x02, serial),
    ECDSA_WITH_SHA256,
    name,
    seq(utcTime(new Date(Date.now() - 86_400_000)), utcTime(new Date("2049-12-31T23:59:59Z"))),
    name,
    publicKey.export({ type: "spki", format: "der" }),
  );
  const signature = sign("sha256", tbs, privateKey);
  const cert = seq(tbs, ECDSA_WITH_SHA256, der(0x03, Buffer.from([0]), signature));
  new X509Certificate(cert); // throws if the encoding is wrong, rather than failing in the first handshake
  const pem = `-----BEGIN CERTIFICATE-----\n${cert.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END CERTIFICATE-----\n`;
  return { key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(), cert: pem };
}
