// Placeholder until the OpenTelemetry SDK start-up lands (issue 3): `npm start` already preloads
// this file, so the SDK starts before Koa is loaded.
export {};
