// HEALTHCHECK of the app images (the slim Bun image has no curl): exit 0 when this container's
// app answers GET /healthz on its PORT, 1 otherwise.
const url = `http://127.0.0.1:${process.env.PORT}/healthz`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  process.exit(response.ok ? 0 : 1);
} catch {
  process.exit(1);
}
