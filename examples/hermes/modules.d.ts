// The modules examples/hermes/engines.ts makes for the apps it bundles: a model's bytes (as an app
// bundles an asset it reads without a native file API) and the app's input.
declare module 'spam-model' { const bytes: Uint8Array; export default bytes; }
declare module 'mail' { const text: string; export default text; }
// tests/runtime/engines/suite.ts and bench/engines/micro-app.ts: one module per student, and the inputs as JSON.
declare module 'model:*' { const bytes: Uint8Array; export default bytes; }
declare module 'inputs' { const json: string; export default json; }
