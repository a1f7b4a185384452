import { randomBytes } from "node:crypto";

/**
 * Outside production, fills in missing token secrets with random ones so `pnpm start` works on a
 * fresh checkout. Returns the names it generated.
 */
export function fillDevSecrets(env: Record<string, string | undefined>): string[] {
  if (env.NODE_ENV === "production") return [];
  const generated: string[] = [];
  if (!env.JWT_SECRET && !env.JWT_JWKS_URL) {
    env.JWT_SECRET = randomBytes(32).toString("base64url");
    generated.push("JWT_SECRET");
  }
  if (!env.INTERNAL_JWT_SECRET) {
    env.INTERNAL_JWT_SECRET = randomBytes(32).toString("base64url");
    generated.push("INTERNAL_JWT_SECRET");
  }
  return generated;
}
