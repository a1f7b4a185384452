import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ProtocolError, type ProtocolErrorCode } from "@hub/events";
import type { AuthSettings } from "@hub/runtime";
import { type CryptoKey, exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createTokenVerifier } from "./token-verifier.js";

const USER_SECRET = "user-secret-0123456789abcdef0123456789";
const INTERNAL_SECRET = "internal-secret-0123456789abcdef012345";
const KID = "test-key-1";

const encoder = new TextEncoder();

function settings(overrides: Partial<AuthSettings> = {}): AuthSettings {
  return {
    jwtSecret: USER_SECRET,
    jwksUrl: undefined,
    issuer: undefined,
    audience: undefined,
    internalSecret: INTERNAL_SECRET,
    maxTtlS: 604_800,
    clockSkewS: 60,
    ...overrides,
  };
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

interface SignSpec {
  /** Seconds from now; `null` leaves `exp` out. @default 3600 */
  expiresIn?: number | null;
  header?: Record<string, unknown>;
}

/** Signs `claims` as a JWT with an HMAC secret (HS256 unless the header says otherwise). */
function signHmac(claims: JWTPayload, secret: string | Uint8Array, spec: SignSpec = {}): Promise<string> {
  const key = typeof secret === "string" ? encoder.encode(secret) : secret;
  return withExp(new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT", ...spec.header }), spec).sign(key);
}

function signAsymmetric(claims: JWTPayload, key: CryptoKey, spec: SignSpec = {}): Promise<string> {
  return withExp(new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: KID, ...spec.header }), spec).sign(key);
}

function withExp(jwt: SignJWT, spec: SignSpec): SignJWT {
  const expiresIn = spec.expiresIn === undefined ? 3600 : spec.expiresIn;
  jwt.setIssuedAt(nowSeconds());
  if (expiresIn !== null) jwt.setExpirationTime(nowSeconds() + expiresIn);
  return jwt;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

/** An unsigned token, `alg: none`, built by hand: header.payload. with an empty signature. */
function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url({ alg: "none", typ: "JWT" })}.${base64url({ exp: nowSeconds() + 3600, ...claims })}.`;
}

async function rejection(promise: Promise<unknown>): Promise<ProtocolError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error("expected the token to be refused, it verified");
}

async function expectRefused(promise: Promise<unknown>, code: ProtocolErrorCode): Promise<ProtocolError> {
  const error = await rejection(promise);
  expect(error.code).toBe(code);
  expect(error.message).not.toBe("");
  return error;
}

describe("createTokenVerifier: HS256 user tokens", () => {
  const verifier = createTokenVerifier(settings());

  it("verifies a user token into a user principal", async () => {
    const token = await signHmac({ sub: "7", org_id: "42", roles: ["coach", "admin"] }, USER_SECRET);
    const principal = await verifier.verify(token);
    expect(principal).toEqual({
      kind: "user",
      userId: "7",
      orgId: "42",
      roles: ["coach", "admin"],
      exp: expect.any(Number),
      issuedAt: expect.any(Number),
    });
    expect(principal.exp).toBeGreaterThan(nowSeconds());
    expect(principal.exp).toBeLessThanOrEqual(nowSeconds() + 3600);
  });

  it("defaults roles to an empty list", async () => {
    const principal = await verifier.verify(await signHmac({ sub: "u-1", org_id: "acme" }, USER_SECRET));
    expect(principal).toMatchObject({ kind: "user", userId: "u-1", orgId: "acme", roles: [] });
  });

  it("normalizes integer sub and org_id to strings", async () => {
    const principal = await verifier.verify(await signHmac({ sub: 7 as unknown as string, org_id: 42 }, USER_SECRET));
    expect(principal).toMatchObject({ kind: "user", userId: "7", orgId: "42" });
  });

  it("keeps exp from the token", async () => {
    const exp = nowSeconds() + 120;
    const token = await new SignJWT({ sub: "7", org_id: "42" })
      .setProtectedHeader({ alg: "HS256" })
      .setExpirationTime(exp)
      .sign(encoder.encode(USER_SECRET));
    expect((await verifier.verify(token)).exp).toBe(exp);
  });

  it("refuses an expired token with token_expired", async () => {
    const token = await signHmac({ sub: "7", org_id: "42" }, USER_SECRET, { expiresIn: -60 });
    await expectRefused(verifier.verify(token), "token_expired");
  });

  it("refuses a token signed with another secret with token_invalid", async () => {
    const token = await signHmac({ sub: "7", org_id: "42" }, "some-other-secret-0123456789abcdef");
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses an expired token signed with another secret as token_invalid, not token_expired", async () => {
    const token = await signHmac({ sub: "7", org_id: "42" }, "some-other-secret-0123456789abcdef", { expiresIn: -60 });
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses a tampered payload", async () => {
    const token = await signHmac({ sub: "7", org_id: "42" }, USER_SECRET);
    const [header, , signature] = token.split(".");
    const forged = `${header}.${base64url({ sub: "7", org_id: "43", exp: nowSeconds() + 3600 })}.${signature}`;
    await expectRefused(verifier.verify(forged), "token_invalid");
  });

  it("refuses an unsigned alg: none token", async () => {
    await expectRefused(verifier.verify(unsignedToken({ sub: "7", org_id: "42" })), "token_invalid");
  });

  it("refuses an alg: none token carrying a (valid HS256) signature", async () => {
    const signed = await signHmac({ sub: "7", org_id: "42" }, USER_SECRET);
    const [, payload, signature] = signed.split(".");
    await expectRefused(verifier.verify(`${base64url({ alg: "none" })}.${payload}.${signature}`), "token_invalid");
  });

  it.each(["HS384", "HS512"])("refuses %s, which is not HS256", async (alg) => {
    const token = await signHmac({ sub: "7", org_id: "42" }, USER_SECRET, { header: { alg } });
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses a token without sub", async () => {
    await expectRefused(verifier.verify(await signHmac({ org_id: "42" }, USER_SECRET)), "token_invalid");
  });

  it("refuses a token without org_id", async () => {
    await expectRefused(verifier.verify(await signHmac({ sub: "7" }, USER_SECRET)), "token_invalid");
  });

  it("refuses a token without exp", async () => {
    await expectRefused(verifier.verify(await signHmac({ sub: "7", org_id: "42" }, USER_SECRET, { expiresIn: null })), "token_invalid");
  });

  it.each([
    ["an Auth0 id", "auth0|5f7c8ec7c33c6c004bbafe82"],
    ["an email", "jane.doe+hub@example.com"],
    ["a URN with colons", "urn:user:7"],
    ["non-ASCII", "josé-müller"],
    ["256 characters long", "u".repeat(256)],
  ])("accepts a sub that is %s, as is", async (_label, sub) => {
    const principal = await verifier.verify(await signHmac({ sub, org_id: "42" }, USER_SECRET));
    expect(principal).toMatchObject({ kind: "user", userId: sub, orgId: "42" });
  });

  it.each([
    ["with a pipe", "org|7"],
    ["with a space", "4 2"],
    ["a URL", "https://idp.example.com/orgs/42"],
  ])("accepts an org_id that is %s, as is", async (_label, orgId) => {
    const principal = await verifier.verify(await signHmac({ sub: "7", org_id: orgId }, USER_SECRET));
    expect(principal).toMatchObject({ kind: "user", userId: "7", orgId });
  });

  it.each([
    ["empty", ""],
    ["only whitespace", "   "],
    ["257 characters long", "u".repeat(257)],
    ["with a newline", "7\nadmin"],
    ["with a NUL", "7\u0000"],
    ["with a C1 control character", "7\u0085"],
    ["with a lone surrogate", "7\ud800"],
    ["with a right-to-left override", "admin\u202e7"],
    ["with a zero-width space", "7\u200b"],
    ["negative", -7],
    ["fractional", 7.5],
    ["an object", { id: 7 }],
  ])("refuses a sub that is %s", async (_label, sub) => {
    const token = await signHmac({ sub: sub as string, org_id: "42" }, USER_SECRET);
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it.each([
    ["empty", ""],
    ["with a tab", "4\t2"],
    ["257 characters long", "o".repeat(257)],
    ["negative", -42],
    ["null", null],
    ["a list", ["42"]],
  ])("refuses an org_id that is %s", async (_label, orgId) => {
    const token = await signHmac({ sub: "7", org_id: orgId }, USER_SECRET);
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it.each([
    ["a string", "admin"],
    ["a list with a number", ["admin", 1]],
    ["an object", { admin: true }],
  ])("refuses roles that are %s", async (_label, roles) => {
    const token = await signHmac({ sub: "7", org_id: "42", roles }, USER_SECRET);
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses a token that is not valid yet (nbf in the future)", async () => {
    const token = await signHmac({ sub: "7", org_id: "42", nbf: nowSeconds() + 600 }, USER_SECRET);
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses HS256 user tokens when only a JWKS URL is configured", async () => {
    const jwksOnly = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl: "http://127.0.0.1:9/jwks.json" }));
    await expectRefused(jwksOnly.verify(await signHmac({ sub: "7", org_id: "42" }, USER_SECRET)), "token_invalid");
  });
});

describe("createTokenVerifier: missing and malformed tokens", () => {
  const verifier = createTokenVerifier(settings());

  it.each([[undefined], [null], [""]])("refuses %j with token_missing", async (token) => {
    await expectRefused(verifier.verify(token), "token_missing");
  });

  it.each([["garbage"], ["a.b.c"], ["a.b"], ["...."], ["Bearer abc"], ["eyJhbGciOiJIUzI1NiJ9.e30"]])(
    "refuses the garbage string %j with token_invalid",
    async (token) => {
      await expectRefused(verifier.verify(token), "token_invalid");
    },
  );

  it("refuses a header that is not JSON", async () => {
    await expectRefused(
      verifier.verify(`${Buffer.from("not json").toString("base64url")}.${base64url({ sub: "7" })}.sig`),
      "token_invalid",
    );
  });

  it("refuses a header without alg", async () => {
    await expectRefused(verifier.verify(`${base64url({ typ: "JWT" })}.${base64url({ sub: "7", org_id: "42" })}.sig`), "token_invalid");
  });

  it.each([[42], [{ token: "x" }], [["a.b.c"]], [true]])("refuses the non-string %j with token_invalid", async (token) => {
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses a token longer than 8192 characters", async () => {
    const token = await signHmac({ sub: "7", org_id: "42", pad: "x".repeat(9000) }, USER_SECRET);
    await expectRefused(verifier.verify(token), "token_invalid");
  });
});

describe("createTokenVerifier: service tokens", () => {
  const verifier = createTokenVerifier(settings());

  it("verifies a token signed with INTERNAL_JWT_SECRET into a service principal", async () => {
    const token = await signHmac({ sub: "billing" }, INTERNAL_SECRET);
    const principal = await verifier.verify(token);
    expect(principal).toEqual({ kind: "service", service: "billing", exp: expect.any(Number) });
    expect(principal.exp).toBeGreaterThan(nowSeconds());
  });

  it("makes a service principal even when the token carries user claims", async () => {
    const principal = await verifier.verify(await signHmac({ sub: "rails", org_id: "42" }, INTERNAL_SECRET));
    expect(principal.kind).toBe("service");
  });

  it("verifies service tokens when user tokens come only from a JWKS", async () => {
    const jwksOnly = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl: "http://127.0.0.1:9/jwks.json" }));
    expect(await jwksOnly.verify(await signHmac({ sub: "billing" }, INTERNAL_SECRET))).toMatchObject({
      kind: "service",
      service: "billing",
    });
  });

  it("never makes a user token (JWT_SECRET) a service principal", async () => {
    const principal = await verifier.verify(await signHmac({ sub: "billing", org_id: "42" }, USER_SECRET));
    expect(principal.kind).toBe("user");
  });

  it("refuses an expired service token with token_expired", async () => {
    await expectRefused(verifier.verify(await signHmac({ sub: "billing" }, INTERNAL_SECRET, { expiresIn: -1 })), "token_expired");
  });

  it("refuses a service token without exp", async () => {
    await expectRefused(verifier.verify(await signHmac({ sub: "billing" }, INTERNAL_SECRET, { expiresIn: null })), "token_invalid");
  });

  it("refuses a service token without sub", async () => {
    await expectRefused(verifier.verify(await signHmac({}, INTERNAL_SECRET)), "token_invalid");
  });

  it("refuses a service token with an empty sub", async () => {
    await expectRefused(verifier.verify(await signHmac({ sub: "" }, INTERNAL_SECRET)), "token_invalid");
  });

  it("does not apply the user issuer/audience to service tokens", async () => {
    const strict = createTokenVerifier(settings({ issuer: "https://auth.example.com", audience: "hub" }));
    expect((await strict.verify(await signHmac({ sub: "billing" }, INTERNAL_SECRET))).kind).toBe("service");
  });
});

describe("createTokenVerifier: issuer and audience", () => {
  const strict = createTokenVerifier(settings({ issuer: "https://auth.example.com", audience: "hub" }));
  const claims = { sub: "7", org_id: "42" };

  it("accepts a token with the configured issuer and audience", async () => {
    const token = await signHmac({ ...claims, iss: "https://auth.example.com", aud: "hub" }, USER_SECRET);
    expect(await strict.verify(token)).toMatchObject({ kind: "user", userId: "7" });
  });

  it("accepts an audience list that contains the configured audience", async () => {
    const token = await signHmac({ ...claims, iss: "https://auth.example.com", aud: ["other", "hub"] }, USER_SECRET);
    expect((await strict.verify(token)).kind).toBe("user");
  });

  it("refuses a wrong issuer", async () => {
    const token = await signHmac({ ...claims, iss: "https://evil.example.com", aud: "hub" }, USER_SECRET);
    await expectRefused(strict.verify(token), "token_invalid");
  });

  it("refuses a missing issuer", async () => {
    await expectRefused(strict.verify(await signHmac({ ...claims, aud: "hub" }, USER_SECRET)), "token_invalid");
  });

  it("refuses a wrong audience", async () => {
    const token = await signHmac({ ...claims, iss: "https://auth.example.com", aud: "other" }, USER_SECRET);
    await expectRefused(strict.verify(token), "token_invalid");
  });

  it("refuses a missing audience", async () => {
    await expectRefused(strict.verify(await signHmac({ ...claims, iss: "https://auth.example.com" }, USER_SECRET)), "token_invalid");
  });

  it("ignores iss and aud when none are configured", async () => {
    const lax = createTokenVerifier(settings());
    const token = await signHmac({ ...claims, iss: "https://anyone.example.com", aud: "anything" }, USER_SECRET);
    expect((await lax.verify(token)).kind).toBe("user");
  });
});

describe("createTokenVerifier: JWKS (RS256)", () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: CryptoKey;
  let publicKeyPem: string;
  let publicJwkJson: string;
  let otherPrivateKey: CryptoKey;
  let jwksRequests = 0;

  beforeAll(async () => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    privateKey = pair.privateKey;
    publicKeyPem = await exportSPKI(pair.publicKey);
    otherPrivateKey = (await generateKeyPair("RS256")).privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: "RS256", use: "sig" };
    publicJwkJson = JSON.stringify(jwk);
    const body = JSON.stringify({ keys: [jwk] });
    server = createServer((req, res) => {
      jwksRequests++;
      if (req.url !== "/.well-known/jwks.json") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  it("verifies an RS256 token signed with the JWKS key into a user principal", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    const before = jwksRequests;
    const principal = await verifier.verify(await signAsymmetric({ sub: "7", org_id: 42, roles: ["player"] }, privateKey));
    expect(principal).toEqual({
      kind: "user",
      userId: "7",
      orgId: "42",
      roles: ["player"],
      exp: expect.any(Number),
      issuedAt: expect.any(Number),
    });
    expect(jwksRequests).toBeGreaterThan(before);
  });

  it("verifies RS256 tokens next to HS256 ones when both are configured", async () => {
    const verifier = createTokenVerifier(settings({ jwksUrl }));
    expect((await verifier.verify(await signAsymmetric({ sub: "7", org_id: "42" }, privateKey))).kind).toBe("user");
    expect((await verifier.verify(await signHmac({ sub: "8", org_id: "42" }, USER_SECRET))).kind).toBe("user");
  });

  it("enforces issuer and audience on JWKS tokens", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl, issuer: "https://auth.example.com", audience: "hub" }));
    const good = await signAsymmetric({ sub: "7", org_id: "42", iss: "https://auth.example.com", aud: "hub" }, privateKey);
    expect((await verifier.verify(good)).kind).toBe("user");
    const wrongIssuer = await signAsymmetric({ sub: "7", org_id: "42", iss: "https://evil.example.com", aud: "hub" }, privateKey);
    await expectRefused(verifier.verify(wrongIssuer), "token_invalid");
  });

  it("refuses an expired RS256 token with token_expired", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    await expectRefused(verifier.verify(await signAsymmetric({ sub: "7", org_id: "42" }, privateKey, { expiresIn: -60 })), "token_expired");
  });

  it("refuses an RS256 token without exp or org_id", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    await expectRefused(
      verifier.verify(await signAsymmetric({ sub: "7", org_id: "42" }, privateKey, { expiresIn: null })),
      "token_invalid",
    );
    await expectRefused(verifier.verify(await signAsymmetric({ sub: "7" }, privateKey)), "token_invalid");
  });

  it("refuses an RS256 token signed with a key that is not in the JWKS", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    await expectRefused(verifier.verify(await signAsymmetric({ sub: "7", org_id: "42" }, otherPrivateKey)), "token_invalid");
  });

  it("refuses an RS256 token whose kid is not in the JWKS", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    const token = await signAsymmetric({ sub: "7", org_id: "42" }, otherPrivateKey, { header: { kid: "unknown-kid" } });
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses an unsigned alg: none token when a JWKS is configured", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    await expectRefused(verifier.verify(unsignedToken({ sub: "7", org_id: "42" })), "token_invalid");
  });

  it("refuses HS256 signed with the RSA public key's PEM (algorithm confusion), JWKS only", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    const token = await signHmac({ sub: "7", org_id: "42" }, publicKeyPem, { header: { kid: KID } });
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses HS256 signed with the RSA public key's PEM (algorithm confusion), JWT_SECRET set to something else", async () => {
    const verifier = createTokenVerifier(settings({ jwksUrl }));
    const token = await signHmac({ sub: "7", org_id: "42" }, publicKeyPem, { header: { kid: KID } });
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses HS256 signed with the public JWK's JSON (algorithm confusion)", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    const token = await signHmac({ sub: "7", org_id: "42" }, publicJwkJson, { header: { kid: KID } });
    await expectRefused(verifier.verify(token), "token_invalid");
  });

  it("refuses an RS256 token when no JWKS is configured", async () => {
    const verifier = createTokenVerifier(settings());
    await expectRefused(verifier.verify(await signAsymmetric({ sub: "7", org_id: "42" }, privateKey)), "token_invalid");
  });

  it("refuses tokens when the JWKS endpoint answers 404", async () => {
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl: jwksUrl.replace("jwks.json", "missing.json") }));
    await expectRefused(verifier.verify(await signAsymmetric({ sub: "7", org_id: "42" }, privateKey)), "token_invalid");
  });
});

describe("createTokenVerifier: JWKS cache, rotation, ES256 and EdDSA", () => {
  let server: Server;
  let jwksUrl: string;
  /** What the endpoint serves; tests rotate it. */
  let published: Array<Record<string, unknown>> = [];
  let fetches = 0;
  const signers = new Map<string, { alg: string; privateKey: CryptoKey; jwk: Record<string, unknown> }>();

  async function addKey(kid: string, alg: string, options: { crv?: string } = {}) {
    const pair = await generateKeyPair(alg, { extractable: true, ...options });
    signers.set(kid, { alg, privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: "sig" } });
  }
  const publish = (...kids: string[]) => {
    published = kids.map((kid) => signers.get(kid)?.jwk as Record<string, unknown>);
  };
  const sign = (kid: string, claims: JWTPayload = { sub: "7", org_id: "42" }) => {
    const signer = signers.get(kid);
    if (!signer) throw new Error(`no key ${kid}`);
    return signAsymmetric(claims, signer.privateKey, { header: { alg: signer.alg, kid } });
  };

  beforeAll(async () => {
    await addKey("rsa-1", "RS256");
    await addKey("rsa-2", "RS256");
    await addKey("ec-1", "ES256");
    await addKey("ed-1", "EdDSA", { crv: "Ed25519" });
    server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  it("fetches the JWKS once for many verifications (cached per verifier, i.e. per JWKS URL)", async () => {
    publish("rsa-1", "ec-1");
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    const before = fetches;
    await verifier.verify(await sign("rsa-1"));
    await verifier.verify(await sign("rsa-1", { sub: "8", org_id: "42" }));
    await verifier.verify(await sign("ec-1"));
    expect(fetches - before).toBe(1);
  });

  it("verifies ES256 and EdDSA (Ed25519) tokens from the JWKS", async () => {
    publish("ec-1", "ed-1");
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    expect(await verifier.verify(await sign("ec-1", { sub: "auth0|ec", org_id: "42" }))).toMatchObject({
      kind: "user",
      userId: "auth0|ec",
    });
    expect(await verifier.verify(await sign("ed-1", { sub: "ed", org_id: 42 }))).toMatchObject({ kind: "user", userId: "ed", orgId: "42" });
  });

  it("refetches for an unknown kid once the 30 s cooldown is over, not before", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    publish("rsa-1");
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    const before = fetches;
    await verifier.verify(await sign("rsa-1"));
    expect(fetches - before).toBe(1);

    // The identity provider rotates in a new key.
    publish("rsa-1", "rsa-2");
    const rotated = await sign("rsa-2");
    // Within the cooldown an unknown kid does not refetch: a flood of bad kids cannot hammer the IdP.
    await expectRefused(verifier.verify(rotated), "token_invalid");
    expect(fetches - before).toBe(1);

    vi.setSystemTime(Date.now() + 31_000);
    expect(await verifier.verify(rotated)).toMatchObject({ kind: "user", userId: "7" });
    expect(fetches - before).toBe(2);
    // Cached again: known kids need no fetch.
    await verifier.verify(await sign("rsa-1"));
    await verifier.verify(await sign("rsa-2"));
    expect(fetches - before).toBe(2);
  });

  it("refuses a JWKS key used with another algorithm than the token's (ES256 key, RS256 header)", async () => {
    publish("ec-1");
    const verifier = createTokenVerifier(settings({ jwtSecret: undefined, jwksUrl }));
    const rsa = signers.get("rsa-1") as { privateKey: CryptoKey };
    const token = await signAsymmetric({ sub: "7", org_id: "42" }, rsa.privateKey, { header: { alg: "RS256", kid: "ec-1" } });
    await expectRefused(verifier.verify(token), "token_invalid");
  });
});

describe("createTokenVerifier: token lifetimes (JWT_MAX_TTL_S, JWT_CLOCK_SKEW_S)", () => {
  const verifier = createTokenVerifier(settings());
  const DAY = 86_400;

  /** Signs exactly these claims (no `iat` unless given), as a user or a service token. */
  function sign(kind: "user" | "service", claims: JWTPayload): Promise<string> {
    const [identity, secret] = kind === "user" ? [{ sub: "7", org_id: "42" }, USER_SECRET] : [{ sub: "billing" }, INTERNAL_SECRET];
    return new SignJWT({ ...identity, ...claims }).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(encoder.encode(secret));
  }

  describe.each(["user", "service"] as const)("%s tokens", (kind) => {
    it.each([
      ["exp: 1e300", () => ({ exp: 1e300 })],
      ["exp: 1e300 with iat now", () => ({ exp: 1e300, iat: nowSeconds() })],
      ["exp 8 days from now, no iat", () => ({ exp: nowSeconds() + 8 * DAY })],
      ["exp 7 days and 2 minutes from now (past the skew)", () => ({ exp: nowSeconds() + 7 * DAY + 120 })],
    ])("refuses %s: exp more than JWT_MAX_TTL_S from now", async (_label, claims) => {
      const error = await expectRefused(verifier.verify(await sign(kind, claims())), "token_invalid");
      expect(error.message).toBe("claim exp is more than JWT_MAX_TTL_S (604800 s) from now");
    });

    it("refuses exp more than JWT_MAX_TTL_S after iat, even when it is near", async () => {
      const now = nowSeconds();
      const error = await expectRefused(verifier.verify(await sign(kind, { iat: now - 30 * DAY, exp: now + 3600 })), "token_invalid");
      expect(error.message).toBe("claim exp is more than JWT_MAX_TTL_S (604800 s) after iat");
    });

    it("refuses iat more than JWT_CLOCK_SKEW_S in the future", async () => {
      const now = nowSeconds();
      const error = await expectRefused(verifier.verify(await sign(kind, { iat: now + 3600, exp: now + 7200 })), "token_invalid");
      expect(error.message).toBe("claim iat is more than 60 s in the future");
      await expectRefused(verifier.verify(await sign(kind, { iat: now + 90, exp: now + 3600 })), "token_invalid");
    });

    it("refuses nbf more than JWT_CLOCK_SKEW_S in the future", async () => {
      const now = nowSeconds();
      const error = await expectRefused(verifier.verify(await sign(kind, { nbf: now + 120, exp: now + 3600 })), "token_invalid");
      expect(error.message).toBe("claim nbf is in the future: the token is not valid yet");
    });

    it("accepts a 7-day token, and iat, nbf or exp off by less than the skew", async () => {
      const now = nowSeconds();
      for (const claims of [
        { iat: now, exp: now + 7 * DAY },
        { exp: now + 7 * DAY + 30 },
        { iat: now + 30, exp: now + 3600 },
        { nbf: now + 30, exp: now + 3600 },
      ]) {
        expect(await verifier.verify(await sign(kind, claims)), JSON.stringify(claims)).toMatchObject({ kind, exp: claims.exp });
      }
    });

    it("keeps expiry strict: exp a few seconds ago is token_expired, whatever the skew", async () => {
      await expectRefused(verifier.verify(await sign(kind, { exp: nowSeconds() - 5 })), "token_expired");
    });

    it("takes its bounds from the settings", async () => {
      const strict = createTokenVerifier(settings({ maxTtlS: 3600, clockSkewS: 0 }));
      const now = nowSeconds();
      expect(await strict.verify(await sign(kind, { iat: now, exp: now + 3600 }))).toMatchObject({ kind });
      const ttl = await expectRefused(strict.verify(await sign(kind, { iat: now, exp: now + 3660 })), "token_invalid");
      expect(ttl.message).toContain("JWT_MAX_TTL_S (3600 s)");
      await expectRefused(strict.verify(await sign(kind, { iat: now + 5, exp: now + 600 })), "token_invalid");
      await expectRefused(strict.verify(await sign(kind, { nbf: now + 5, exp: now + 600 })), "token_invalid");
    });
  });
});
