export type { TokenVerifier } from "./auth/token-verifier.js";
export { createTokenVerifier } from "./auth/token-verifier.js";
export type { Gateway, GatewayOptions } from "./gateway.js";
export { createGateway } from "./gateway.js";
export type { RunningGateway } from "./run-gateway.js";
export { runGateway } from "./run-gateway.js";
