// How long the tests allow things to take. A sanitizer build of the server runs several times
// slower than a release build, so every upper bound on a duration (an answer within 300 ms, a wait
// for an event, a test's limit) is multiplied by HERALD_TEST_TIME_SCALE (default 1). Lower bounds
// (the server waited out its timeout) and the timeouts the tests configure in the server are not:
// they are the behaviour under test, whatever the build's speed.

const VARIABLE = "HERALD_TEST_TIME_SCALE";

/** Parses HERALD_TEST_TIME_SCALE's value: unset or empty is 1, else a positive finite number. */
export function parseTimeScale(raw) {
  const text = (raw ?? "").trim();
  if (text === "") return 1;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${VARIABLE} must be a positive number (e.g. 3 for a sanitizer build), not ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The factor every upper time bound of the tests is multiplied by. */
export const TIME_SCALE = parseTimeScale(process.env[VARIABLE]);

/**
 * `ms` stretched for the build under test: the upper bound on how long something may take.
 * `below` caps it where the bound must stay under a timeout configured in the server ("answered
 * when the client acked, not at the 2 s timeout"): stretched past it, the assertion would pass
 * even when the server waited the timeout out.
 */
export function scaled(ms, { below = Infinity } = {}) {
  return Math.min(Math.round(ms * TIME_SCALE), below);
}
