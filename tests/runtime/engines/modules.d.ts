// The modules examples/hermes/engines.ts makes for the suite: each fixture's bytes, and the inputs.
declare module 'model:*' { const bytes: Uint8Array; export default bytes; }
declare module 'inputs' { const json: string; export default json; }
