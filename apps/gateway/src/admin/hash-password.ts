import { text } from "node:stream/consumers";
import { hashAdminPassword } from "./admin-ui.js";

// Prints a bcrypt hash for ADMIN_UI_PASSWORD_HASH of the password read on stdin (one trailing line
// break dropped), so the password stays out of shell history and process lists:
//   printf %s 'the password' | node --import tsx apps/gateway/src/admin/hash-password.ts
const password = (await text(process.stdin)).replace(/\r?\n$/, "");
if (password.length < 12) {
  process.stderr.write("hash-password: give a password of at least 12 characters on stdin\n");
  process.exit(1);
}
process.stdout.write(`${await hashAdminPassword(password)}\n`);
