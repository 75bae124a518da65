// The modules examples/hermes/hermes.ts makes for an app: its model's bytes and its input.
declare module 'spam-model' { const bytes: Uint8Array; export default bytes; }
declare module 'mail' { const text: string; export default text; }
