/** A bad or missing setting; its message is one human-readable line naming the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    // One line, whatever the offending value held.
    super(`${variable} ${problem}`.replace(/[\r\n]+/g, " "));
  }
}
