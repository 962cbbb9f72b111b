// The ReDoS verdict of regular expressions, by npm `recheck` (pinned in package.json).
//
//   echo '{"patterns": ["^a*$"], "flags": ["", "u"]}' | node tools/check_patterns.mjs
//
// Prints a JSON array: one object per pattern and flag set, in input order:
// {source, flags, status: safe|vulnerable|unknown, checker, complexity, summary,
//  attack_pattern (the attack string in compact form, e.g. "'a'.repeat(31) + '!'"),
//  attack_length, error}.
// It judges nothing itself: tools/check_patterns.py walks openapi.yaml, calls this and
// fails on anything that is not "safe". Exit status 2 on bad input only.
import { check } from "recheck";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
let request;
try {
  request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
} catch (error) {
  console.error(`check_patterns.mjs: stdin is not JSON: ${error.message}`);
  process.exit(2);
}
const patterns = request.patterns;
const flagSets = request.flags ?? [""];
if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === "string")) {
  console.error('check_patterns.mjs: expected {"patterns": [string, ...], "flags": [string, ...]}');
  process.exit(2);
}

// Deterministic: the fuzz checker (used by "auto" on large patterns) draws from this seed.
const params = { randomSeed: 0, timeout: 30000 };
const results = [];
for (const source of patterns) {
  for (const flags of flagSets) {
    const d = await check(source, flags, params);
    results.push({
      source,
      flags,
      status: d.status,
      checker: d.checker ?? null,
      complexity: d.complexity?.type ?? null,
      summary: d.complexity?.summary ?? null,
      attack_pattern: d.attack?.pattern ?? null,
      attack_length: d.attack?.string?.length ?? null,
      error: d.error ? `${d.error.kind}${d.error.message ? `: ${d.error.message}` : ""}` : null,
    });
  }
}
process.stdout.write(JSON.stringify(results) + "\n");
