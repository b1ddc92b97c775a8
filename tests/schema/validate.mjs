#!/usr/bin/env node
// Validates JSON documents against named schemas of an OpenAPI 3.1 document with Ajv's JSON
// Schema 2020-12 build (the dialect OpenAPI 3.1 uses) and ajv-formats.
//
//   node validate.mjs CASES.json [CASES.json ...]     (or CASES on stdin when no file is given)
//
// CASES is a JSON array of {"name": "what this is", "schema": "connex:IntegrationEventResponse",
// "body": <the JSON to check>}. A schema is "<doc>:<components.schemas name>", where <doc> is
// `connex` (the seed contract, tests/data/connex/openapi.json) or `postern` (apid/openapi.json).
// Prints one line per failing case with Ajv's errors and a summary; exits 1 if any case fails,
// 2 on bad input.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const documents = {
  connex: join(root, "tests", "data", "connex", "openapi.json"),
  postern: join(root, "apid", "openapi.json"),
};

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
addFormats(ajv);
// The OpenAPI wrapper keeps the schemas under components.schemas, where their $refs point.
ajv.addVocabulary(["components"]);
for (const [name, path] of Object.entries(documents)) {
  const doc = JSON.parse(readFileSync(path, "utf8"));
  ajv.addSchema({ $id: `${name}.json`, components: { schemas: doc.components.schemas } });
}

const validators = new Map();
function validator(schema) {
  if (!validators.has(schema)) {
    const [doc, name] = schema.split(":");
    if (!documents[doc] || !name) throw new Error(`bad schema name '${schema}'`);
    validators.set(schema, ajv.compile({ $ref: `${doc}.json#/components/schemas/${name}` }));
  }
  return validators.get(schema);
}

function readCases() {
  const files = process.argv.slice(2);
  const texts = files.length ? files.map((f) => readFileSync(f, "utf8")) : [readFileSync(0, "utf8")];
  return texts.flatMap((t) => JSON.parse(t));
}

let cases;
try {
  cases = readCases();
  if (!Array.isArray(cases)) throw new Error("expected a JSON array of cases");
} catch (e) {
  console.error(`validate.mjs: ${e.message}`);
  process.exit(2);
}

let failed = 0;
const bySchema = new Map();
for (const c of cases) {
  const validate = validator(c.schema);
  const ok = validate(c.body);
  bySchema.set(c.schema, (bySchema.get(c.schema) || 0) + 1);
  if (!ok) {
    failed++;
    console.log(`FAIL ${c.name} (${c.schema}): ${ajv.errorsText(validate.errors, { separator: "; " })}`);
  }
}
for (const [schema, n] of [...bySchema.entries()].sort()) console.log(`  ${schema}: ${n}`);
console.log(`${cases.length - failed}/${cases.length} responses valid (Ajv JSON Schema 2020-12, strict)`);
process.exit(failed ? 1 : 0);
