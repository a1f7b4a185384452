declare module "notepack.io" {
  const notepack: { encode(value: unknown): Buffer; decode(buffer: Buffer): unknown };
  export default notepack;
}
