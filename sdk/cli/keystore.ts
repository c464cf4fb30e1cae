// Decrypts a Web3 Secret Storage (v3) JSON keystore — the format geth, Foundry's `cast wallet` and ethers write —
// with node:crypto, so the key never has to sit in plain text in an environment variable or a config file.
import { createDecipheriv, pbkdf2Sync, scryptSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { bytesToHex, keccak256, type Hex } from "viem";
import { CliError, EXIT } from "./output.ts";

interface KeystoreV3 {
  version: number;
  crypto?: KeystoreCrypto;
  Crypto?: KeystoreCrypto;
}

interface KeystoreCrypto {
  cipher: string;
  ciphertext: string;
  cipherparams: { iv: string };
  kdf: "scrypt" | "pbkdf2";
  kdfparams: { dklen: number; salt: string; n?: number; r?: number; p?: number; c?: number; prf?: string };
  mac: string;
}

const hex = (s: string) => Buffer.from(s.replace(/^0x/, ""), "hex");

export async function readKeystore(file: string, password: string | undefined): Promise<Hex> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new CliError(`keystore not found: ${file}`);
  }
  if (password === undefined) {
    throw new CliError("the keystore needs a password: --password-file or MODELSHARE_KEYSTORE_PASSWORD");
  }
  return decryptKeystore(text, password);
}

export function decryptKeystore(json: string, password: string): Hex {
  let keystore: KeystoreV3;
  try {
    keystore = JSON.parse(json) as KeystoreV3;
  } catch {
    throw new CliError("the keystore is not valid JSON");
  }
  const c = keystore.crypto ?? keystore.Crypto;
  if (keystore.version !== 3 || !c) throw new CliError("unsupported keystore: only version 3 JSON keystores are read");
  if (c.cipher !== "aes-128-ctr") throw new CliError(`unsupported keystore cipher ${c.cipher}`);
  const kp = c.kdfparams;
  let derived: Buffer;
  if (c.kdf === "scrypt" && kp.n && kp.r && kp.p) {
    // node's default memory cap (32 MiB) is below what the usual N = 2^18 needs.
    derived = scryptSync(password, hex(kp.salt), kp.dklen, { N: kp.n, r: kp.r, p: kp.p, maxmem: 256 * kp.n * kp.r + 1024 * 1024 });
  } else if (c.kdf === "pbkdf2" && kp.c && (kp.prf ?? "hmac-sha256") === "hmac-sha256") {
    derived = pbkdf2Sync(password, hex(kp.salt), kp.c, kp.dklen, "sha256");
  } else {
    throw new CliError(`unsupported keystore key derivation ${c.kdf}`);
  }
  const ciphertext = hex(c.ciphertext);
  const mac = keccak256(Buffer.concat([derived.subarray(16, 32), ciphertext]));
  if (mac.slice(2) !== c.mac.replace(/^0x/, "").toLowerCase()) throw new CliError("wrong keystore password", EXIT.usage);
  const decipher = createDecipheriv("aes-128-ctr", derived.subarray(0, 16), hex(c.cipherparams.iv));
  return bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}
